package snapkeep

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds on what a provider or a customer controls, so that no item comes
// near DynamoDB's 400 KB limit and no transaction near its 4 MB.
const (
	// MaxProviderText bounds each provider-controlled string kept on a run
	// or an ApiCalls row (error messages, error ids, request ids, details).
	MaxProviderText = 1024
	// MaxHeaderValue bounds one recorded header value.
	MaxHeaderValue = 1024
	// MaxHeaderBytes bounds the recorded headers of one request or
	// response (names and values together).
	MaxHeaderBytes = 8 * 1024
	// MaxHeaders bounds how many headers of one request or response are
	// recorded.
	MaxHeaders = 64
)

// cutMark ends a string that Bound cut.
const cutMark = " …[cut %d bytes]"

// Bound returns s if it is at most max bytes long, else its first bytes
// (cut at a character boundary) followed by a note of how many bytes were
// cut, the whole at most max bytes. Invalid UTF-8 is replaced first, so the
// result is always valid UTF-8.
func Bound(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= max {
		return s
	}
	// The note's length depends on the number cut; allow for its widest.
	keep := max - len(fmt.Sprintf(cutMark, len(s)))
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + fmt.Sprintf(cutMark, len(s)-keep)
}

// WasCut reports whether s ends with Bound's note.
func WasCut(s string) bool {
	i := strings.LastIndex(s, " …[cut ")
	return i >= 0 && strings.HasSuffix(s, " bytes]")
}

// BoundHeaders returns h with at most MaxHeaders entries (by name order),
// each value bounded to MaxHeaderValue and the total of names and values
// to MaxHeaderBytes; what did not fit is counted in the header
// "x-snapkeep-headers-dropped". h itself is not changed.
func BoundHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return h
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sortStrings(names)
	out := make(map[string]string, len(h))
	total, dropped := 0, 0
	for _, k := range names {
		name := Bound(k, 128)
		v := Bound(h[k], MaxHeaderValue)
		if len(out) >= MaxHeaders-1 || total+len(name)+len(v) > MaxHeaderBytes-64 {
			dropped++
			continue
		}
		out[name] = v
		total += len(name) + len(v)
	}
	if dropped > 0 {
		out[HeaderDropped] = fmt.Sprint(dropped)
	}
	return out
}

// HeaderDropped is the pseudo-header BoundHeaders adds when it dropped
// headers; its value is how many.
const HeaderDropped = "x-snapkeep-headers-dropped"

// sortStrings is an insertion sort: header sets are small, and the domain
// package keeps its imports minimal.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
