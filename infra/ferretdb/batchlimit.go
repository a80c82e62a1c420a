package main

// FerretDB 1.24 on SQLite deadlocks on an update or delete command of 100 statements or more: its
// handler keeps every statement's query open until the command ends, and its pool has 100 SQLite
// connections, so the next statement waits for a connection forever (and, with the proxy's write
// lock held, so does every other write). The proxy refuses such commands at once with a clear error
// instead; clients send their bulk writes in slices (maxStatements at most).

import (
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
)

const maxStatements = 90

// statementCount is how many statements an update or delete OP_MSG carries, in its body's array or
// in a document sequence (section kind 1), the way drivers send bulk writes.
func statementCount(msg []byte, name string) int {
	field := map[string]string{"update": "updates", "delete": "deletes"}[name]
	if field == "" {
		return 0
	}
	command, sequences, ok := sections(msg)
	if !ok {
		return 0
	}
	count := len(sequences[field])
	if array, ok := command.Lookup(field).ArrayOK(); ok {
		if values, err := array.Values(); err == nil {
			count += len(values)
		}
	}
	return count
}

// tooManyStatements is the error reply for a command over the limit; nil when it is within it.
func tooManyStatements(request []byte, name string) []byte {
	n := statementCount(request, name)
	if n <= maxStatements || flags(request)&moreToCome != 0 { // an unacknowledged write expects no reply
		return nil
	}
	doc, err := bson.Marshal(bson.D{
		{Key: "ok", Value: 0.0},
		{Key: "errmsg", Value: fmt.Sprintf("huying FerretDB proxy: %s with %d statements refused; send at most %d per command (FerretDB 1.24 on SQLite deadlocks at 100)", name, n, maxStatements)},
		{Key: "code", Value: int32(2)},
		{Key: "codeName", Value: "BadValue"},
	})
	if err != nil {
		return nil
	}
	return message(requestIDs.Add(1), requestID(request), doc)
}
