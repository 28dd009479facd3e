package escalation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestSubjects(t *testing.T) {
	start := time.Date(2026, 11, 24, 6, 10, 0, 0, time.UTC)
	end := start.Add(12*time.Hour + 42*time.Minute)
	nextDay := start.Add(20 * time.Hour)
	provider := snapkeep.Incident{Kind: snapkeep.IncidentProvider, Dimension: "operation:snapshot_droplet",
		StartedAt: start, Rate: 0.018, BaselineRate: 0.0005, PeakRate: 0.031}
	resolved := provider
	resolved.ResolvedAt = &end
	overnight := provider
	overnight.ResolvedAt = &nextDay
	pipeline := snapkeep.Incident{Kind: snapkeep.IncidentPipeline, Dimension: snapkeep.DimensionAll, StartedAt: start, ResolvedAt: &end}
	hostile := provider
	hostile.Dimension = "region:nyc3\r\nBcc: everyone@example.com"
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"alert", escalation.AlertSubject(&provider),
			"[snapkeep] DigitalOcean API error rate 1.8% (baseline 0.05%) on operation:snapshot_droplet since 06:10 UTC"},
		{"alert of a region", escalation.AlertSubject(&snapkeep.Incident{Kind: snapkeep.IncidentProvider, Dimension: "region:nyc3",
			StartedAt: start, Rate: 0.12, BaselineRate: 0.00042}),
			"[snapkeep] DigitalOcean API error rate 12% (baseline 0.042%) on region:nyc3 since 06:10 UTC"},
		{"pipeline alert", escalation.AlertSubject(&pipeline),
			"[snapkeep] Pipeline stalled: no DigitalOcean call outcomes on all since 06:10 UTC"},
		{"no incident", escalation.AlertSubject(nil), "[snapkeep] DigitalOcean API escalation report"},
		{"resolution", escalation.ResolutionSubject(&resolved),
			"[snapkeep] Resolved: DigitalOcean API error rate on operation:snapshot_droplet back to baseline 0.05% (peak 3.1%, 06:10–18:52 UTC)"},
		{"resolution next day", escalation.ResolutionSubject(&overnight),
			"[snapkeep] Resolved: DigitalOcean API error rate on operation:snapshot_droplet back to baseline 0.05% (peak 3.1%, Nov 24 06:10–Nov 25 02:10 UTC)"},
		{"resolution while open", escalation.ResolutionSubject(&provider),
			"[snapkeep] Resolved: DigitalOcean API error rate on operation:snapshot_droplet back to baseline 0.05% (peak 3.1%, since 06:10 UTC)"},
		{"pipeline resolution", escalation.ResolutionSubject(&pipeline),
			"[snapkeep] Resolved: DigitalOcean call outcomes on all arriving again (stalled 06:10–18:52 UTC)"},
		{"header injection", escalation.AlertSubject(&hostile),
			"[snapkeep] DigitalOcean API error rate 1.8% (baseline 0.05%) on region:nyc3 Bcc: everyone@example.com since 06:10 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got  %q\nwant %q", tt.got, tt.want)
			}
			if strings.ContainsAny(tt.got, "\r\n") {
				t.Errorf("subject %q holds a line break", tt.got)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want escalation.Format
	}{
		{"md", escalation.FormatMarkdown}, {"Markdown", escalation.FormatMarkdown}, {" html ", escalation.FormatHTML},
		{"txt", escalation.FormatText}, {"text", escalation.FormatText}, {"CSV", escalation.FormatCSV},
	}
	for _, tt := range tests {
		if got, err := escalation.ParseFormat(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	_, err := escalation.ParseFormat("pdf")
	if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), `report format "pdf": want md, html, text or csv`) {
		t.Errorf("ParseFormat(pdf) error = %v", err)
	}
	r := &escalation.Report{}
	if err := r.Render(&strings.Builder{}, "pdf"); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("Render(pdf) error = %v, want ErrInvalid", err)
	}
}

func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"}, {"+1", "'+1"}, {"-2+3", "'-2+3"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"}, {"\r=1", "'\r=1"}, {"droplet:1", "droplet:1"}, {"", ""}, {"a=b", "a=b"}, {"500", "500"},
	}
	for _, tt := range tests {
		if got := escalation.CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
