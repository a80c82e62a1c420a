package main

// Commands that take long are logged with their name, database, collection and the shape of their
// filter (the keys, never the values: documents hold personal data), so a stalled bench or test can
// be traced to the statement that held FerretDB.

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// slowCommand is FERRETDB_SLOW_COMMAND_MS (default 1000): lower it to see where a load's time goes.
var slowCommand = func() time.Duration {
	if ms, err := strconv.Atoi(os.Getenv("FERRETDB_SLOW_COMMAND_MS")); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return time.Second
}()

func (p *proxy) logIfSlow(request []byte, name string, started time.Time, waited time.Duration) {
	took := time.Since(started)
	if took < slowCommand {
		return
	}
	command, sequences, ok := sections(request)
	if !ok {
		return
	}
	collection, _ := command.Lookup(name).StringValueOK()
	database, _ := command.Lookup("$db").StringValueOK()
	attrs := []any{slog.String("command", name), slog.String("db", database), slog.String("collection", collection),
		slog.String("shape", shape(command)), slog.Duration("took", took), slog.Duration("waitedForWriteLock", waited)}
	for identifier, docs := range sequences {
		if len(docs) > 0 {
			attrs = append(attrs, slog.String(identifier, fmt.Sprintf("%d, the first: %s", len(docs), shape(docs[0]))))
		}
	}
	p.logger.Warn("slow command", attrs...)
}

// shape lists a document's top-level keys and those of its filter, query or update, without values.
func shape(doc bson.Raw) string {
	var keys []string
	elements, _ := doc.Elements()
	for _, e := range elements {
		key := e.Key()
		if inner, ok := e.Value().DocumentOK(); ok && (key == "filter" || key == "query" || key == "q" || key == "u") {
			fields, _ := inner.Elements()
			names := make([]string, 0, len(fields))
			for _, f := range fields {
				names = append(names, f.Key())
			}
			key += "{" + strings.Join(names, ",") + "}"
		} else if array, ok := e.Value().ArrayOK(); ok && (key == "updates" || key == "deletes") {
			if values, err := array.Values(); err == nil && len(values) > 0 {
				if first, ok := values[0].DocumentOK(); ok {
					key += fmt.Sprintf("[%d, the first: %s]", len(values), shape(first))
				}
			}
		}
		keys = append(keys, key)
	}
	return strings.Join(keys, " ")
}
