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

// indexIDs adds the missing _id lookup index to every collection table of every database file.
func indexIDs(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return err
	}
	for _, file := range files {
		if err := indexFile(file); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(file), err)
		}
	}
	return nil
}

func indexFile(file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM _ferretdb_collections`)
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
	for _, table := range tables {
		quoted := strings.ReplaceAll(table, `"`, `""`)
		statement := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_huying_id_lookup" ON "%s" (_ferretdb_sjson->'$._id')`, quoted, quoted)
		if _, err := db.Exec(statement); err != nil {
			return err
		}
	}
	return nil
}

// keepIndexed indexes new collections as they appear, while holding the write lock (so no FerretDB
// write runs meanwhile).
func (p *proxy) keepIndexed(dir string, every time.Duration) {
	for {
		p.writes.Lock()
		err := indexIDs(dir)
		p.writes.Unlock()
		if err != nil {
			p.logger.Warn("could not add _id lookup indexes", "error", err)
		}
		time.Sleep(every)
	}
}
