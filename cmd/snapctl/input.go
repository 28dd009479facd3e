package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeFile reads one object from a .yaml, .yml or .json file into v,
// which must already hold the defaults for fields the file leaves out.
// Fields v does not have are rejected. Errors are usage errors naming the
// file.
func decodeFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("read %s: %w", path, err)
	}
	var doc any
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return usagef("%s: not valid JSON: %v", path, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return usagef("%s: more than one JSON value; the file must hold exactly one object", path)
		}
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return usagef("%s: the file is empty", path)
			}
			return usagef("%s: not valid YAML: %v", path, err)
		}
		var extra any
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return usagef("%s: more than one YAML document; the file must hold exactly one", path)
		}
	default:
		return usagef("%s: unknown file type %q: use .yaml, .yml or .json", path, ext)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return usagef("%s: the file must hold one object of field: value pairs", path)
	}
	// `policy get -o json|yaml` adds a read-only status; it is not a field.
	delete(obj, "status")
	// A droplet id is naturally written as a number; the field is a string.
	if n, ok := obj["resource_id"]; ok {
		switch n := n.(type) {
		case int:
			obj["resource_id"] = fmt.Sprint(n)
		case json.Number:
			obj["resource_id"] = n.String()
		}
	}
	norm, err := json.Marshal(obj)
	if err != nil {
		return usagef("%s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(norm))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return usagef("%s: %s", path, strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
