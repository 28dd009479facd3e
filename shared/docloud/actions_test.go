package docloud

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestListDropletActions(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/droplets/3164444/actions", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		q := r.URL.Query()
		if q.Get("page") != "1" || q.Get("per_page") != "200" {
			t.Errorf("query = %v, want page=1 per_page=200", q)
		}
		serve(t, w, http.StatusOK, "droplet_actions_page1.json")
	})
	got, more, err := f.client.ListDropletActions(context.Background(), 3164444, 0)
	if err != nil {
		t.Fatalf("ListDropletActions: %v", err)
	}
	if !more {
		t.Error("more = false, want true (the page has a next link)")
	}
	if len(got) != 2 {
		t.Fatalf("got %d actions, want 2: %+v", len(got), got)
	}
	a := got[0]
	if a.ID != 36805187 || a.Type != "snapshot" || a.Status != snapkeep.ActionInProgress || a.ResourceID != 3164444 {
		t.Errorf("first action = %+v", a)
	}
	if want := time.Date(2026, 11, 24, 12, 0, 5, 0, time.UTC); !a.StartedAt.Equal(want) {
		t.Errorf("StartedAt = %v, want %v", a.StartedAt, want)
	}
	if got[1].Type != "power_on" || got[1].Status != snapkeep.ActionCompleted {
		t.Errorf("second action = %+v", got[1])
	}
	calls := f.rec.all()
	if len(calls) != 1 || calls[0].Method != http.MethodGet || !strings.HasPrefix(calls[0].Path, "/v2/droplets/3164444/actions?") {
		t.Errorf("recorded calls = %+v, want one GET /v2/droplets/3164444/actions", calls)
	}
}

func TestListDropletActionsErrors(t *testing.T) {
	f := setup(t)
	if _, _, err := f.client.ListDropletActions(context.Background(), 0, 1); Classify(err) == nil || Classify(err).Class != snapkeep.ClassInvalidPolicy {
		t.Errorf("ListDropletActions(0) error = %v, want invalid_policy", err)
	}
	if n := len(f.rec.all()); n != 0 {
		t.Errorf("%d requests made for an invalid id, want none", n)
	}
	n := 0
	f.mux.HandleFunc("/v2/droplets/7/actions", func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"id":"server_error","message":"Server Error"}`))
	})
	_, _, err := f.client.ListDropletActions(context.Background(), 7, 1)
	if e := Classify(err); e == nil || e.Class != snapkeep.ClassProviderError || e.StatusCode != 500 {
		t.Errorf("error = %v, want provider_error 500", err)
	}
	if n != 1 {
		t.Errorf("%d requests, want exactly one (never retried)", n)
	}
}
