package support

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Output formats.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
	FormatYAML  = "yaml"
)

// Formats lists the output formats, the default first.
func Formats() []string { return []string{FormatTable, FormatJSON, FormatCSV, FormatYAML} }

// Table is rows of text cells under column headings: what the table and
// CSV formats print.
type Table struct {
	// Columns are the headings, upper case in the table format.
	Columns []string
	// Rows are the cells, one slice per row, as many as Columns.
	Rows [][]string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// WriteText writes t aligned in columns, cells cleaned of control
// characters and cut to maxCell characters (0: no cut).
func (t *Table) WriteText(w io.Writer, maxCell int) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, Cell(c, maxCell))
		}
		fmt.Fprintln(tw)
	}
	line(t.Columns)
	for _, r := range t.Rows {
		line(r)
	}
	return tw.Flush()
}

// WriteCSV writes t as RFC 4180 CSV with a header row; cells are cleaned
// of control characters but not cut.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	clean := func(cells []string) []string {
		out := make([]string, len(cells))
		for i, c := range cells {
			out[i] = Cell(c, 0)
		}
		return out
	}
	if err := cw.Write(clean(t.Columns)); err != nil {
		return err
	}
	for _, r := range t.Rows {
		if err := cw.Write(clean(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Fields is a list of name: value lines, for one object in table format.
type Fields struct {
	rows [][2]string
}

// Add appends a line; an empty value is shown as "-".
func (f *Fields) Add(name, value string) { f.rows = append(f.rows, [2]string{name, value}) }

// WriteText writes the lines aligned, values cleaned and cut to maxCell.
func (f *Fields) WriteText(w io.Writer, maxCell int) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range f.rows {
		v := Cell(r[1], maxCell)
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], v)
	}
	return tw.Flush()
}

// Table returns the lines as a two-column table (field, value), for CSV.
func (f *Fields) Table() *Table {
	t := &Table{Columns: []string{"field", "value"}}
	for _, r := range f.rows {
		t.Add(r[0], r[1])
	}
	return t
}

// Cell cleans s for one table cell: control characters and line breaks
// become spaces (provider text must not forge rows), invalid UTF-8 is
// replaced, and when max > 0 it is cut to max characters ending in "…".
func Cell(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteYAML writes v as YAML with the names and field order of its JSON
// form, so a policy printed as YAML is a valid `policy put -f` file.
func WriteYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	node, err := yamlNode(dec)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return err
	}
	return enc.Close()
}

// yamlNode reads one JSON value from dec as a YAML node, keeping the
// order of object keys.
func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		kind := yaml.SequenceNode
		if t == '{' {
			kind = yaml.MappingNode
		}
		n := &yaml.Node{Kind: kind}
		for dec.More() {
			if kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(k)})
			}
			child, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, child)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(t.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
