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
	if opCode(msg) != opMsg || len(msg) < headerLength+4+1+5 {
		return nil, false
	}
	flagBits := flags(msg)
	end := len(msg)
	if flagBits&1 != 0 { // checksumPresent
		end -= 4
	}
	section := msg[headerLength+4 : end]
	if section[0] != 0 {
		return nil, false
	}
	doc := bson.Raw(section[1:])
	size := int(binary.LittleEndian.Uint32(doc[:4]))
	if size != len(doc) || doc.Validate() != nil {
		return nil, false // more sections follow, or something unexpected: leave it alone
	}
	return doc, true
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

// conditionalWrite handles an update or findAndModify of one document with a plain-value condition.
// It returns the reply to send the client, or nil to pass the request through unchanged.
func (p *proxy) conditionalWrite(request []byte) ([]byte, []byte, error) {
	command, ok := body(request)
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
	// Per command: where its filter is, the reply when nothing matches, and the field rewritten with
	// the narrowed filter.
	var (
		filter  bson.Raw
		noMatch bson.D
		field   string
		narrow  func(id bson.RawValue) (interface{}, error)
	)
	switch name {
	case "update":
		updates, ok := command.Lookup("updates").ArrayOK()
		if !ok {
			return nil, nil, nil
		}
		statements, err := updates.Values()
		if err != nil || len(statements) != 1 {
			return nil, nil, nil
		}
		statement := statements[0].Document()
		if multi, _ := statement.Lookup("multi").BooleanOK(); multi {
			return nil, nil, nil
		}
		if upsert, _ := statement.Lookup("upsert").BooleanOK(); upsert {
			return nil, nil, nil
		}
		if filter, ok = statement.Lookup("q").DocumentOK(); !ok {
			return nil, nil, nil
		}
		noMatch = bson.D{{Key: "n", Value: int32(0)}, {Key: "nModified", Value: int32(0)}, {Key: "ok", Value: 1.0}}
		field = "updates"
		narrow = func(id bson.RawValue) (interface{}, error) {
			inner, err := statement.Elements()
			if err != nil {
				return nil, err
			}
			stmt := make(bson.D, 0, len(inner))
			for _, e := range inner {
				if e.Key() == "q" {
					stmt = append(stmt, bson.E{Key: "q", Value: bson.D{{Key: "_id", Value: id}}})
				} else {
					stmt = append(stmt, bson.E{Key: e.Key(), Value: e.Value()})
				}
			}
			return bson.A{stmt}, nil
		}
	case "findAndModify", "findandmodify":
		if upsert, _ := command.Lookup("upsert").BooleanOK(); upsert {
			return nil, nil, nil
		}
		var ok bool
		if filter, ok = command.Lookup("query").DocumentOK(); !ok {
			return nil, nil, nil
		}
		noMatch = bson.D{
			{Key: "lastErrorObject", Value: bson.D{{Key: "n", Value: int32(0)}, {Key: "updatedExisting", Value: false}}},
			{Key: "value", Value: nil},
			{Key: "ok", Value: 1.0},
		}
		field = "query"
		narrow = func(id bson.RawValue) (interface{}, error) { return bson.D{{Key: "_id", Value: id}}, nil }
	default:
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
		reply, err := bson.Marshal(noMatch)
		return message(requestIDs.Add(1), requestID(request), reply), nil, err
	}
	value, err := narrow(id)
	if err != nil {
		return nil, nil, err
	}
	rewritten, err := replaceField(command, field, value)
	if err != nil {
		return nil, nil, err
	}
	return nil, message(requestID(request), 0, rewritten), nil
}
