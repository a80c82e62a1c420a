package main

// FerretDB 1.24's SQLite backend creates its unique _id index on the expression
// `_ferretdb_sjson->"_id"` but looks documents up by `_ferretdb_sjson->'$._id'`, which SQLite does
// not match to that index: every find, update and delete by _id scans the whole table, so each one
// costs more as a collection grows. The proxy therefore adds, to every collection table, an index on
// exactly the expression FerretDB queries by. FerretDB ignores indexes it does not know of (its own
// are kept in its metadata), and dropping a collection drops the table with them.

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses
)

// dataDir is the directory of a FerretDB SQLite URI such as "file:.data/ferretdb/?_pragma=...".
func dataDir(sqliteURL string) (string, error) {
	u, err := url.Parse(sqliteURL)
	if err != nil {
		return "", err
	}
	path := u.Opaque
	if path == "" {
		path = u.Path
	}
	if path == "" {
		return "", fmt.Errorf("no directory in %q", sqliteURL)
	}
	return path, nil
}

// indexIDs adds the missing _id lookup index to every collection table of every database file it
// is given a chance to: a file whose collections have not changed since the last pass (same
// modification time of the file and its write-ahead log) is skipped, so a pass over many idle
// databases costs a few stat calls.
func (p *proxy) indexIDs(dir string, seen map[string]string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return err
	}
	for _, file := range files {
		stamp := modified(file) + "|" + modified(file+"-wal")
		if seen[file] == stamp {
			continue
		}
		if err := p.indexFile(file); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(file), err)
		}
		seen[file] = stamp
	}
	return nil
}

func modified(file string) string {
	info, err := os.Stat(file)
	if err != nil {
		return ""
	}
	return info.ModTime().String()
}

// indexFile finds the tables without the lookup index (a read: no lock), then creates the missing
// indexes holding the write lock, so that no FerretDB write runs meanwhile. Idle databases never take
// the lock at all.
func (p *proxy) indexFile(file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT c.table_name FROM _ferretdb_collections c WHERE NOT EXISTS
		(SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || '_huying_id_lookup')`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // a database without collections yet
		}
		return err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	rows.Close()
	if len(tables) == 0 {
		return nil
	}
	p.writes.Lock()
	defer p.writes.Unlock()
	for _, table := range tables {
		quoted := strings.ReplaceAll(table, `"`, `""`)
		statement := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_huying_id_lookup" ON "%s" (_ferretdb_sjson->'$._id')`, quoted, quoted)
		if _, err := db.Exec(statement); err != nil {
			return err
		}
	}
	return nil
}

// keepIndexed indexes new collections as they appear.
func (p *proxy) keepIndexed(dir string, every time.Duration) {
	seen := map[string]string{}
	for {
		if err := p.indexIDs(dir, seen); err != nil {
			p.logger.Warn("could not add _id lookup indexes", "error", err)
		}
		time.Sleep(every)
	}
}
