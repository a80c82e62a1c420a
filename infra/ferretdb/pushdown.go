package main

// Conditional single-document writes without a collection scan.
//
// FerretDB 1.24 on SQLite uses its index only when a filter is exactly {_id: value}; a conditional
// update such as {_id: "C1", version: 3} reads and decodes the whole collection, so each one costs
// more as the collection grows. Since the proxy already lets one write run at a time, it can check
// such a condition itself: it fetches the one document by _id, compares the other fields (plain
// values only), and then sends the write with the filter {_id: value} or answers "no match". Any
// other shape of write passes through unchanged, so the result is always what FerretDB would give.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
)

var requestIDs atomic.Int32

// body returns the OP_MSG's only section, a kind-0 document; false for anything else.
func body(msg []byte) (bson.Raw, bool) {
	command, sequences, ok := sections(msg)
	return command, ok && len(sequences) == 0
}

// message builds an OP_MSG (no flags) with one kind-0 section.
func message(requestID, responseTo int32, doc []byte) []byte {
	msg := make([]byte, headerLength+4+1+len(doc))
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint32(msg[4:], uint32(requestID))
	binary.LittleEndian.PutUint32(msg[8:], uint32(responseTo))
	binary.LittleEndian.PutUint32(msg[12:], opMsg)
	msg[headerLength+4] = 0
	copy(msg[headerLength+5:], doc)
	return msg
}

func requestID(msg []byte) int32 { return int32(binary.LittleEndian.Uint32(msg[4:8])) }

// splitFilter returns the _id and the plain-value conditions of a filter like {_id: "C1", version: 3};
// false when the filter has any other shape (operators, nested documents, arrays, no _id).
func splitFilter(filter bson.Raw) (bson.RawValue, []bson.RawElement, bool) {
	elements, err := filter.Elements()
	if err != nil || len(elements) < 2 {
		return bson.RawValue{}, nil, false
	}
	var id bson.RawValue
	var conditions []bson.RawElement
	for _, e := range elements {
		key, value := e.Key(), e.Value()
		if key == "_id" {
			if value.Type != bsontype.String && value.Type != bsontype.ObjectID {
				return bson.RawValue{}, nil, false
			}
			id = value
			continue
		}
		if len(key) == 0 || key[0] == '$' {
			return bson.RawValue{}, nil, false
		}
		for _, c := range key {
			if c == '.' {
				return bson.RawValue{}, nil, false
			}
		}
		switch value.Type {
		case bsontype.String, bsontype.Int32, bsontype.Int64, bsontype.Double, bsontype.Boolean:
		default:
			return bson.RawValue{}, nil, false
		}
		conditions = append(conditions, e)
	}
	return id, conditions, id.Type != 0
}

// sameValue compares plain values as MongoDB does: numbers by value across int32, int64 and double.
func sameValue(a, b bson.RawValue) bool {
	if af, ok := number(a); ok {
		bf, ok := number(b)
		return ok && af == bf
	}
	return a.Type == b.Type && a.Equal(b)
}

func number(v bson.RawValue) (float64, bool) {
	switch v.Type {
	case bsontype.Int32:
		return float64(v.Int32()), true
	case bsontype.Int64:
		return float64(v.Int64()), true
	case bsontype.Double:
		f := v.Double()
		return f, !math.IsNaN(f)
	}
	return 0, false
}

// current fetches one document by _id over the proxy's own connection (used only under the write lock).
func (p *proxy) current(db, collection string, id bson.RawValue) (bson.Raw, error) {
	command, err := bson.Marshal(bson.D{
		{Key: "find", Value: collection},
		{Key: "filter", Value: bson.D{{Key: "_id", Value: id}}},
		{Key: "limit", Value: 1},
		{Key: "singleBatch", Value: true},
		{Key: "$db", Value: db},
	})
	if err != nil {
		return nil, err
	}
	if p.lookup == nil {
		conn, err := net.Dial("unix", p.backend)
		if err != nil {
			return nil, err
		}
		p.lookup = conn
	}
	if _, err := p.lookup.Write(message(requestIDs.Add(1), 0, command)); err != nil {
		p.lookup.Close()
		p.lookup = nil
		return nil, err
	}
	reply, err := readMessage(p.lookup)
	if err != nil {
		p.lookup.Close()
		p.lookup = nil
		return nil, err
	}
	doc, ok := body(reply)
	if !ok {
		return nil, errors.New("unexpected find reply")
	}
	if okValue, isNum := number(doc.Lookup("ok")); !isNum || okValue != 1 {
		return nil, fmt.Errorf("find failed: %s", doc.String())
	}
	batch, ok := doc.Lookup("cursor", "firstBatch").ArrayOK()
	if !ok {
		return nil, errors.New("find reply without a batch")
	}
	values, err := batch.Values()
	if err != nil || len(values) == 0 {
		return nil, err
	}
	return values[0].Document(), nil
}

func matches(doc bson.Raw, conditions []bson.RawElement) bool {
	if doc == nil {
		return false
	}
	for _, c := range conditions {
		value, err := doc.LookupErr(c.Key())
		if err != nil || !sameValue(value, c.Value()) {
			return false
		}
	}
	return true
}

// replaceField copies a command document with one field's value replaced.
func replaceField(command bson.Raw, field string, value interface{}) ([]byte, error) {
	elements, err := command.Elements()
	if err != nil {
		return nil, err
	}
	out := make(bson.D, 0, len(elements))
	for _, e := range elements {
		if e.Key() == field {
			out = append(out, bson.E{Key: field, Value: value})
		} else {
			out = append(out, bson.E{Key: e.Key(), Value: e.Value()})
		}
	}
	return bson.Marshal(out)
}

// conditionalWrite handles a write whose statements each change one document under a plain-value
// condition: an update of one or more statements (a bulk write sends them as a document sequence)
// or a findAndModify. It returns the reply to send the client, or the request to send instead; nil
// for both to pass the request through unchanged.
func (p *proxy) conditionalWrite(request []byte) ([]byte, []byte, error) {
	command, sequences, ok := sections(request)
	if !ok || flags(request)&moreToCome != 0 {
		return nil, nil, nil
	}
	elements, err := command.Elements()
	if err != nil || len(elements) == 0 {
		return nil, nil, nil
	}
	name := elements[0].Key()
	collection, _ := elements[0].Value().StringValueOK()
	db, _ := command.Lookup("$db").StringValueOK()
	if collection == "" || db == "" {
		return nil, nil, nil
	}
	switch name {
	case "update":
		return p.conditionalUpdates(request, command, sequences["updates"], db, collection)
	case "findAndModify", "findandmodify":
		if len(sequences) > 0 {
			return nil, nil, nil
		}
		return p.conditionalFindAndModify(request, command, db, collection)
	}
	return nil, nil, nil
}

// conditionalUpdates checks each statement's condition by _id and sends only the statements whose
// condition holds, narrowed to {_id}: a statement that matches nothing changes nothing and counts
// nothing, so the reply is FerretDB's for the rest. (FerretDB 1.24 stops an update command at its
// first failing statement and reports it at index 0 wherever it stood, so no index is lost.) A
// statement already filtered by _id alone goes as it is; any other shape (operators, upsert, multi,
// a collation) passes the whole command through.
func (p *proxy) conditionalUpdates(request []byte, command bson.Raw, sequence []bson.Raw, db, collection string) ([]byte, []byte, error) {
	var statements []bson.Raw
	if sequence != nil {
		statements = sequence
	} else {
		updates, ok := command.Lookup("updates").ArrayOK()
		if !ok {
			return nil, nil, nil
		}
		values, err := updates.Values()
		if err != nil {
			return nil, nil, nil
		}
		for _, v := range values {
			doc, ok := v.DocumentOK()
			if !ok {
				return nil, nil, nil
			}
			statements = append(statements, doc)
		}
	}
	type check struct {
		id         bson.RawValue
		conditions []bson.RawElement
	}
	checks := make([]check, len(statements))
	conditional := false
	for i, statement := range statements {
		if multi, _ := statement.Lookup("multi").BooleanOK(); multi {
			return nil, nil, nil
		}
		if upsert, _ := statement.Lookup("upsert").BooleanOK(); upsert {
			return nil, nil, nil
		}
		if _, err := statement.LookupErr("collation"); err == nil { // string comparison not by bytes
			return nil, nil, nil
		}
		filter, ok := statement.Lookup("q").DocumentOK()
		if !ok {
			return nil, nil, nil
		}
		if id, ok := idOnly(filter); ok {
			checks[i] = check{id: id}
			continue
		}
		id, conditions, ok := splitFilter(filter)
		if !ok {
			return nil, nil, nil
		}
		checks[i] = check{id: id, conditions: conditions}
		conditional = true
	}
	if !conditional {
		return nil, nil, nil
	}
	kept := bson.A{}
	for i, statement := range statements {
		if checks[i].conditions != nil {
			doc, err := p.current(db, collection, checks[i].id)
			if err != nil {
				return nil, nil, err
			}
			if !matches(doc, checks[i].conditions) {
				continue
			}
		}
		narrowed, err := replaceField(statement, "q", bson.D{{Key: "_id", Value: checks[i].id}})
		if err != nil {
			return nil, nil, err
		}
		kept = append(kept, bson.Raw(narrowed))
	}
	if len(kept) == 0 {
		reply, err := bson.Marshal(bson.D{{Key: "n", Value: int32(0)}, {Key: "nModified", Value: int32(0)}, {Key: "ok", Value: 1.0}})
		return message(requestIDs.Add(1), requestID(request), reply), nil, err
	}
	rewritten, err := withField(command, "updates", kept)
	if err != nil {
		return nil, nil, err
	}
	return nil, message(requestID(request), 0, rewritten), nil
}

// conditionalFindAndModify narrows a findAndModify of one document under a plain-value condition.
func (p *proxy) conditionalFindAndModify(request []byte, command bson.Raw, db, collection string) ([]byte, []byte, error) {
	if upsert, _ := command.Lookup("upsert").BooleanOK(); upsert {
		return nil, nil, nil
	}
	filter, ok := command.Lookup("query").DocumentOK()
	if !ok {
		return nil, nil, nil
	}
	id, conditions, ok := splitFilter(filter)
	if !ok {
		return nil, nil, nil
	}
	doc, err := p.current(db, collection, id)
	if err != nil {
		return nil, nil, err
	}
	if !matches(doc, conditions) {
		reply, err := bson.Marshal(bson.D{
			{Key: "lastErrorObject", Value: bson.D{{Key: "n", Value: int32(0)}, {Key: "updatedExisting", Value: false}}},
			{Key: "value", Value: nil},
			{Key: "ok", Value: 1.0},
		})
		return message(requestIDs.Add(1), requestID(request), reply), nil, err
	}
	rewritten, err := replaceField(command, "query", bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, nil, err
	}
	return nil, message(requestID(request), 0, rewritten), nil
}

// idOnly is the _id of a filter that is exactly {_id: plain value}.
func idOnly(filter bson.Raw) (bson.RawValue, bool) {
	elements, err := filter.Elements()
	if err != nil || len(elements) != 1 || elements[0].Key() != "_id" {
		return bson.RawValue{}, false
	}
	id := elements[0].Value()
	return id, id.Type == bsontype.String || id.Type == bsontype.ObjectID
}

// withField copies a command document with a field set (replaced where it is, else added at the end).
func withField(command bson.Raw, field string, value interface{}) ([]byte, error) {
	if _, err := command.LookupErr(field); err == nil {
		return replaceField(command, field, value)
	}
	elements, err := command.Elements()
	if err != nil {
		return nil, err
	}
	out := make(bson.D, 0, len(elements)+1)
	for _, e := range elements {
		out = append(out, bson.E{Key: e.Key(), Value: e.Value()})
	}
	return bson.Marshal(append(out, bson.E{Key: field, Value: value}))
}

// sections splits an OP_MSG into its body (section kind 0) and its document sequences (kind 1) by
// identifier; false when it is not an OP_MSG or is malformed.
func sections(msg []byte) (bson.Raw, map[string][]bson.Raw, bool) {
	if opCode(msg) != opMsg || len(msg) < headerLength+4+1+5 {
		return nil, nil, false
	}
	end := len(msg)
	if flags(msg)&1 != 0 { // checksumPresent
		end -= 4
	}
	var command bson.Raw
	sequences := map[string][]bson.Raw{}
	for at := headerLength + 4; at < end; {
		kind := msg[at]
		at++
		if at+5 > end {
			return nil, nil, false
		}
		size := int(binary.LittleEndian.Uint32(msg[at:]))
		if size < 5 || at+size > end {
			return nil, nil, false
		}
		section := msg[at : at+size]
		switch kind {
		case 0:
			if command != nil || bson.Raw(section).Validate() != nil {
				return nil, nil, false
			}
			command = bson.Raw(section)
		case 1:
			rest := section[4:]
			nul := -1
			for i, b := range rest {
				if b == 0 {
					nul = i
					break
				}
			}
			if nul < 0 {
				return nil, nil, false
			}
			identifier := string(rest[:nul])
			docs := []bson.Raw{}
			for rest = rest[nul+1:]; len(rest) > 0; {
				if len(rest) < 5 {
					return nil, nil, false
				}
				docSize := int(binary.LittleEndian.Uint32(rest))
				if docSize < 5 || docSize > len(rest) || bson.Raw(rest[:docSize]).Validate() != nil {
					return nil, nil, false
				}
				docs = append(docs, bson.Raw(rest[:docSize]))
				rest = rest[docSize:]
			}
			sequences[identifier] = docs
		default:
			return nil, nil, false
		}
		at += size
	}
	return command, sequences, command != nil
}
