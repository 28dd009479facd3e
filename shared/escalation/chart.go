package escalation

import (
	"fmt"
	"math"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 760
	chartHeight = 280
	chartLeft   = 64
	chartRight  = 16
	chartTop    = 20
	chartBottom = 52
)

// chart is the daily error-rate chart, laid out: the HTML template only
// writes these numbers and labels into SVG elements.
type chart struct {
	Width, Height    int
	Left, Top, Right float64
	Bottom           float64
	Bars             []chartBar
	YTicks           []chartTick
	XTicks           []chartTick
	BaselineY        float64
	BaselineLabel    string
	ShadeX, ShadeW   float64
	WindowY          float64
	WindowLabel      string
	ShowWindowRate   bool
	YTitle, XTitle   string
	Description      string
	YTitleX, YTitleY float64
	XTitleX, XTitleY float64
}

type chartBar struct {
	X, Y, W, H float64
	InWindow   bool
	Title      string
}

type chartTick struct {
	Pos   float64
	Label string
}

// newChart lays out r's daily rates: one bar per day, the baseline as a
// dashed line, the window shaded with its rate drawn across it.
func newChart(r *Report) *chart {
	if len(r.Daily) == 0 {
		return nil
	}
	c := &chart{Width: chartWidth, Height: chartHeight, Left: chartLeft, Top: chartTop,
		Right: chartWidth - chartRight, Bottom: chartHeight - chartBottom,
		YTitle: "provider-side error rate", XTitle: "day (UTC)"}
	top := niceCeil(math.Max(maxDailyRate(r), math.Max(r.Baseline.Rate(), r.InWindow.Rate())) * 1.1)
	plotW, plotH := c.Right-c.Left, c.Bottom-c.Top
	y := func(rate float64) float64 { return round1(c.Bottom - plotH*math.Min(rate/top, 1)) }
	slot := plotW / float64(len(r.Daily))
	for i, d := range r.Daily {
		by := y(d.Rate())
		inWin := r.Window.Overlaps(Window{From: d.Day, To: d.Day.AddDate(0, 0, 1)})
		c.Bars = append(c.Bars, chartBar{X: round1(c.Left + float64(i)*slot + slot*0.15), Y: by, W: round1(slot * 0.7),
			H: round1(c.Bottom - by), InWindow: inWin,
			Title: fmt.Sprintf("%s: %s (%s of %s)", dayLabel(d), rateCell(d.CallCounts),
				formatCount(d.ProviderFailures), counted(d.Calls, "call", "calls"))})
		if i%5 == 0 || i == len(r.Daily)-1 {
			c.XTicks = append(c.XTicks, chartTick{Pos: round1(c.Left + (float64(i)+0.5)*slot), Label: d.Day.Format("Jan 2")})
		}
	}
	for i := 0; i <= 4; i++ {
		rate := top * float64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{Pos: y(rate), Label: formatRate(rate)})
	}
	c.BaselineY, c.BaselineLabel = y(r.Baseline.Rate()), "baseline "+rateCell(r.Baseline)
	span := r.Daily[len(r.Daily)-1].Day.AddDate(0, 0, 1).Sub(r.Daily[0].Day)
	x := func(t time.Time) float64 {
		f := float64(t.Sub(r.Daily[0].Day)) / float64(span)
		return c.Left + plotW*math.Max(0, math.Min(1, f))
	}
	c.ShadeX = round1(x(r.Window.From))
	c.ShadeW = round1(math.Max(x(r.Window.To)-x(r.Window.From), 3))
	c.WindowY, c.WindowLabel = y(r.InWindow.Rate()), "window "+formatRate(r.InWindow.Rate())
	c.ShowWindowRate = r.InWindow.Calls > 0
	c.YTitleX, c.YTitleY = 16, round1(c.Top+plotH/2)
	c.XTitleX, c.XTitleY = round1(c.Left+plotW/2), float64(chartHeight-10)
	c.Description = fmt.Sprintf("Daily provider-side error rate over %d days: baseline %s, window %s (shaded).",
		len(r.Daily), rateCell(r.Baseline), rateCell(r.InWindow))
	return c
}

func maxDailyRate(r *Report) float64 {
	m := 0.0
	for _, d := range r.Daily {
		m = math.Max(m, d.Rate())
	}
	return m
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten (at least
// 0.1%), so the axis reads in round numbers.
func niceCeil(v float64) float64 {
	if v < 0.001 {
		return 0.001
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*exp*(1+1e-9) {
			return m * exp
		}
	}
	return 10 * exp
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
