// Package browsertest looks at snapkeep's HTML in a real browser:
// Debian's chromium, headless, installed by infra/tools.sh (make test);
// $CHROMIUM names another binary. Its checks never skip: without a
// browser they fail, saying how to get one. It is test tooling and never
// ships.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
)

const (
	// shotWidth and shotHeight are the browser window and so the
	// screenshot: wide enough for the report's tables, tall enough for
	// the chart (the second section).
	shotWidth, shotHeight = 1300, 1600
	// chromiumTimeout bounds one browser run.
	chromiumTimeout = 90 * time.Second
)

// Chromium returns the browser to run, or fails the test with the
// command that installs it.
func Chromium(t testing.TB) string {
	t.Helper()
	if name := os.Getenv("CHROMIUM"); name != "" {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("$CHROMIUM=%s: %v", name, err)
		}
		return path
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatalf("headless Chromium is needed to check the HTML report and is not installed: run `bash infra/tools.sh` " +
		"(as root it runs `apt-get install -y chromium`; otherwise run `sudo apt-get install -y chromium`), or set $CHROMIUM to a Chromium binary")
	return ""
}

// Run runs the browser headless on the page with args and
// returns its standard output.
func Run(t testing.TB, bin, page string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		fmt.Sprintf("--window-size=%d,%d", shotWidth, shotHeight), "--hide-scrollbars", "--force-device-scale-factor=1"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// box is an element's layout box in CSS pixels, from the page's top.
type box struct{ X, Y, W, H float64 }

// layoutProbe is appended to a copy of the report (the report itself has
// no script): it writes every section's and the chart's box into the DOM,
// where --dump-dom reads it back.
const layoutProbe = `<pre id="layout-probe"></pre><script>
(function () {
  var out = {};
  document.querySelectorAll("section[id], svg[id]").forEach(function (e) {
    var r = e.getBoundingClientRect();
    out[e.id] = {X: r.left, Y: r.top + window.scrollY, W: r.width, H: r.height};
  });
  document.getElementById("layout-probe").textContent = JSON.stringify(out);
})();
</script>`

var probeOutput = regexp.MustCompile(`<pre id="layout-probe">([^<]*)</pre>`)

// CheckReport renders an escalation report's HTML page in headless
// Chromium and checks that every section and the chart are in the
// rendered DOM, laid out with a size, and drawn: the screenshot has the
// window's size, is not blank, and the chart's box holds its bars and
// baseline. It fails t, saying what is missing.
func CheckReport(t testing.TB, page string) {
	t.Helper()
	bin := Chromium(t)

	dom := Run(t, bin, page, "--dump-dom")
	for _, s := range escalation.Sections() {
		if !strings.Contains(dom, `<section id="`+s.ID+`"`) || !strings.Contains(dom, s.Title) {
			t.Errorf("the rendered DOM lacks section %s (%q)", s.ID, s.Title)
		}
	}
	if !strings.Contains(dom, `<svg xmlns="http://www.w3.org/2000/svg" id="daily-rate-chart"`) || strings.Count(dom, `class="bar`) < escalation.DailyDays {
		t.Errorf("the rendered DOM lacks the chart or its %d daily bars (%d bars)", escalation.DailyDays, strings.Count(dom, `class="bar`))
	}

	boxes := probeLayout(t, bin, page)
	for _, s := range escalation.Sections() {
		if b := boxes[s.ID]; b.W < shotWidth/2 || b.H < 40 {
			t.Errorf("section %s is laid out as %+v: not rendered", s.ID, b)
		}
	}
	chart := boxes["daily-rate-chart"]
	if chart.W < 600 || chart.H < 200 || chart.Y+chart.H > shotHeight {
		t.Fatalf("the chart is laid out as %+v: want at least 600x200 inside the first %dpx", chart, shotHeight)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	Run(t, bin, page, "--screenshot="+shot)
	img := decodePNG(t, shot)
	if b := img.Bounds(); b.Dx() != shotWidth || b.Dy() != shotHeight {
		t.Fatalf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), shotWidth, shotHeight)
	}
	all := countPixels(img, img.Bounds())
	if frac := float64(all.nonWhite) / float64(shotWidth*shotHeight); frac < 0.03 {
		t.Errorf("screenshot is %.2f%% non-white: blank", 100*frac)
	}
	in := countPixels(img, image.Rect(int(chart.X), int(chart.Y), int(chart.X+chart.W), int(chart.Y+chart.H)))
	minBaseline := 20
	if baselineOnAxis(t, page) {
		// A zero baseline lies on the x axis, which is drawn over it: only
		// its label is blue.
		minBaseline = 1
	}
	if in.window < 200 || in.baseline < minBaseline || in.bars < 100 {
		t.Errorf("the chart's box holds %d window-red, %d baseline-blue and %d bar-grey pixels: not drawn", in.window, in.baseline, in.bars)
	}
	t.Logf("screenshot %s: %d non-white pixels; chart %+v: %d red, %d blue, %d grey", shot, all.nonWhite, chart, in.window, in.baseline, in.bars)
}

var (
	baselineLine = regexp.MustCompile(`<line class="baseline" [^>]*y1="([0-9.]+)"`)
	xAxisLine    = regexp.MustCompile(`<line class="axis" x1="[0-9.]+" x2="[0-9.]+" y1="([0-9.]+)" y2="[0-9.]+"/>\s*(<text|</svg>)`)
)

// baselineOnAxis says whether the chart's baseline is at 0%, on the x
// axis (a report whose baseline days had no provider-side failures).
func baselineOnAxis(t testing.TB, page string) bool {
	t.Helper()
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	b, axis := baselineLine.FindSubmatch(html), xAxisLine.FindSubmatch(html)
	if b == nil || axis == nil {
		t.Fatalf("the chart has no baseline line or no x axis")
	}
	return string(b[1]) == string(axis[1])
}

// probeLayout loads a copy of page with layoutProbe and returns the boxes.
func probeLayout(t testing.TB, bin, page string) map[string]box {
	t.Helper()
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "</body>") {
		t.Fatal("the report has no </body>")
	}
	probe := filepath.Join(t.TempDir(), "probe.html")
	if err := os.WriteFile(probe, []byte(strings.Replace(string(html), "</body>", layoutProbe+"</body>", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	m := probeOutput.FindStringSubmatch(Run(t, bin, probe, "--dump-dom"))
	if m == nil {
		t.Fatal("the layout probe wrote nothing: the browser ran no script")
	}
	boxes := map[string]box{}
	if err := json.Unmarshal([]byte(m[1]), &boxes); err != nil {
		t.Fatalf("layout probe: %v: %s", err, m[1])
	}
	return boxes
}

func decodePNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	return img
}

// pixels counts a region's non-white pixels and those of the chart's
// colours (report.html.tmpl): the window's bar and rate #cf222e, the
// baseline #0969da, the other days' bars #57606a.
type pixels struct{ nonWhite, window, baseline, bars int }

func countPixels(img image.Image, r image.Rectangle) pixels {
	var p pixels
	near := func(c [3]int, want [3]int) bool {
		d := 0
		for i := range c {
			if x := c[i] - want[i]; x < 0 {
				d -= x
			} else {
				d += x
			}
		}
		return d < 40
	}
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			c := [3]int{int(cr >> 8), int(cg >> 8), int(cb >> 8)}
			if c[0] < 245 || c[1] < 245 || c[2] < 245 {
				p.nonWhite++
			}
			switch {
			case near(c, [3]int{0xcf, 0x22, 0x2e}):
				p.window++
			case near(c, [3]int{0x09, 0x69, 0xda}):
				p.baseline++
			case near(c, [3]int{0x57, 0x60, 0x6a}):
				p.bars++
			}
		}
	}
	return p
}
