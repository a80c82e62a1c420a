package main

// FerretDB 1.24 on SQLite deadlocks on an update or delete command of 100 statements or more: its
// handler keeps every statement's query open until the command ends, and its pool has 100 SQLite
// connections, so the next statement waits for a connection forever (and, with the proxy's write
// lock held, so does every other write). The proxy refuses such commands at once with a clear error
// instead; clients send their bulk writes in slices (maxStatements at most).

import (
	"encoding/binary"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
)

const maxStatements = 90

// statementCount is how many statements an update or delete OP_MSG carries, in its body's array or
// in a document sequence (section kind 1), the way drivers send bulk writes.
func statementCount(msg []byte, name string) int {
	field := map[string]string{"update": "updates", "delete": "deletes"}[name]
	if field == "" || opCode(msg) != opMsg || len(msg) < headerLength+4 {
		return 0
	}
	end := len(msg)
	if flags(msg)&1 != 0 { // checksumPresent
		end -= 4
	}
	count := 0
	for at := headerLength + 4; at < end; {
		kind := msg[at]
		at++
		if at+4 > end {
			return count
		}
		size := int(binary.LittleEndian.Uint32(msg[at:]))
		if size < 5 || at+size > end {
			return count
		}
		section := msg[at : at+size]
		switch kind {
		case 0:
			if array, ok := bson.Raw(section).Lookup(field).ArrayOK(); ok {
				if values, err := array.Values(); err == nil {
					count += len(values)
				}
			}
		case 1:
			// int32 size, a NUL-terminated identifier, then documents to the end of the section.
			rest := section[4:]
			for i, b := range rest {
				if b == 0 {
					rest = rest[i+1:]
					break
				}
			}
			for len(rest) >= 5 {
				docSize := int(binary.LittleEndian.Uint32(rest))
				if docSize < 5 || docSize > len(rest) {
					break
				}
				count++
				rest = rest[docSize:]
			}
		}
		at += size
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
