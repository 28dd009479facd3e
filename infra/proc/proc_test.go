package proc

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		writes []string
		want   string
	}{
		{"nothing written", 8, nil, ""},
		{"under the limit", 8, []string{"abc", "de"}, "abcde"},
		{"exactly the limit", 8, []string{"abcd", "efgh"}, "abcdefgh"},
		{"over the limit across writes", 8, []string{"abc", "defgh", "ijklmnopq"}, "jklmnopq"},
		{"one write longer than the limit", 4, []string{"0123456789"}, "6789"},
		{"empty writes", 4, []string{"", "ab", ""}, "ab"},
		{"the smallest limit", 1, []string{"ab", "c"}, "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewTail(tc.limit)
			for _, s := range tc.writes {
				if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
				}
			}
			if got := b.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTailConcurrent writes from several goroutines (as a child's stdout
// and stderr are copied): every byte kept is one written, and the tail is
// full. Run with -race to check the locking.
func TestTailConcurrent(t *testing.T) {
	b := NewTail(64)
	var wg sync.WaitGroup
	for _, c := range "abcd" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := []byte(strings.Repeat(string(c), 10))
			for range 100 {
				_, _ = b.Write(line)
			}
		}()
	}
	wg.Wait()
	got := b.String()
	if len(got) != 64 || strings.Trim(got, "abcd") != "" {
		t.Errorf("String() = %q, want 64 bytes of what was written", got)
	}
}

func TestTee(t *testing.T) {
	b := NewTail(4)
	if w := b.Tee(nil); w != b {
		t.Errorf("Tee(nil) = %v, want the Tail itself", w)
	}
	var also bytes.Buffer
	w := b.Tee(&also)
	if _, err := w.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if b.String() != "6789" || also.String() != "0123456789" {
		t.Errorf("after Tee(buffer).Write: tail %q, buffer %q; want 6789 and all of it", b.String(), also.String())
	}
}

// A limit below 1 panics at once, with a message that names it, not in a
// later Write.
func TestNewTailRejectsANonPositiveLimit(t *testing.T) {
	for _, limit := range []int{0, -1, -1 << 20} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if want := fmt.Sprintf("proc.NewTail(%d): the limit must be at least 1 byte", limit); msg != want {
					t.Errorf("NewTail(%d) panicked with %q, want %q", limit, msg, want)
				}
			}()
			NewTail(limit)
		})
	}
}
