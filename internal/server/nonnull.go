package server

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

var (
	marshalerType     = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// arraysNotNull returns a copy of v in which every list and map that JSON
// would write as null is empty instead: the OpenAPI document promises an
// array (or object) wherever a field is not omitted, and a nil slice is
// Go's empty list. v itself, which may be shared (the policy in force), is
// not changed. Values that write their own JSON are kept as they are.
func arraysNotNull(v any) any {
	if v == nil {
		return nil
	}
	return fill(reflect.ValueOf(v)).Interface()
}

func ownJSON(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(marshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
}

func fill(v reflect.Value) reflect.Value {
	if ownJSON(v.Type()) {
		return v
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(fill(v.Elem()))
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(fill(v.Elem()))
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			fv := n.Field(i)
			if (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.IsNil() &&
				(strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")) {
				continue // omitted, not null
			}
			fv.Set(fill(fv))
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return reflect.MakeSlice(v.Type(), 0, 0)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(fill(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return reflect.MakeMap(v.Type())
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(it.Key(), fill(it.Value()))
		}
		return n
	}
	return v
}
