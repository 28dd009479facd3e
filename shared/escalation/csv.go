package escalation

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"
)

// CSVHeader is the header row of the CSV attachment.
var CSVHeader = []string{"time_utc", "operation", "resource_key", "region", "account_id", "http_status",
	"error_id", "error_message", "x_request_id", "run_id", "seq", "attempt", "method", "path", "class",
	"duration_ms", "transport_error"}

// CSV writes every affected call (the attachment DigitalOcean gets), one
// row each, oldest first, under CSVHeader. Cells are guarded against
// spreadsheet formula injection: a cell starting with = + - @, a tab or a
// carriage return is prefixed with a single quote.
func (r *Report) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	row := make([]string, len(CSVHeader))
	for _, c := range r.Affected {
		row = append(row[:0], c.At.UTC().Format(time.RFC3339Nano), string(c.Operation), c.ResourceKey, c.Region,
			c.AccountID, strconv.Itoa(c.HTTPStatus), c.ErrorID, c.ErrorMessage, c.RequestID, c.RunID,
			strconv.Itoa(c.Seq), strconv.Itoa(c.Attempt), c.Method, c.Path, string(c.Class),
			strconv.FormatInt(c.DurationMS, 10), c.TransportError)
		for i := range row {
			row[i] = CSVCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// CSVCell guards one cell against formula injection (OWASP): a cell a
// spreadsheet would read as a formula gets a leading single quote.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// unsafeFilename matches what may not appear in an attachment's name.
var unsafeFilename = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// CSVFilename is the attachment's file name, e.g.
// "snapkeep-affected-calls-20261124T0610Z.csv" (the window's start).
func (r *Report) CSVFilename() string {
	name := "snapkeep-affected-calls-" + r.Window.From.UTC().Format("20060102T1504Z") + ".csv"
	return unsafeFilename.ReplaceAllString(name, "_")
}
