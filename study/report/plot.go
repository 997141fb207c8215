// Package report turns study results into PNG plots and a Markdown or
// single-file HTML report.
//
// Plots use gonum.org/v1/plot (pure Go, already a module dependency; its
// vgimg backend renders PNG without cgo). The legend is drawn outside
// the data area, to the right, so it never hides a curve.
package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/warm-rm/warm/internal/atomicfile"
)

// Image size of every plot, in pixels.
const (
	WidthPx  = 800
	HeightPx = 500
	dpi      = 96
)

// Series is one curve of a LinePlot. Err, when not nil, has one value per
// point and is drawn as a translucent band Y ± Err (a band stays readable
// with several overlapping curves, where error bars clutter).
type Series struct {
	Name string
	X, Y []float64
	Err  []float64
}

// BarSeries is one colour of a grouped BarPlot: Values[g] is its bar in
// group g; Err, when not nil, adds an error bar Values[g] ± Err[g].
type BarSeries struct {
	Name   string
	Values []float64
	Err    []float64
}

// LinePlot writes a PNG line plot (WidthPx × HeightPx) with one line per
// series, each with its own colour, dash pattern and point marker.
func LinePlot(path, title, xlabel, ylabel string, series []Series) error {
	if len(series) == 0 {
		return fmt.Errorf("%s: line plot %q has no series", path, title)
	}
	p := newPlot(title, xlabel, ylabel)
	var names []string
	var thumbs [][]plot.Thumbnailer
	for i, s := range series {
		if len(s.X) != len(s.Y) || (s.Err != nil && len(s.Err) != len(s.Y)) {
			return fmt.Errorf("%s: series %q: X, Y, Err lengths %d, %d, %d differ", path, s.Name, len(s.X), len(s.Y), len(s.Err))
		}
		if len(s.X) == 0 {
			return fmt.Errorf("%s: series %q has no points", path, s.Name)
		}
		if err := finite(s.X, s.Y, s.Err); err != nil {
			return fmt.Errorf("%s: series %q: %v", path, s.Name, err)
		}
		col := seriesColor(i)
		xy := make(plotter.XYs, len(s.X))
		for k := range xy {
			xy[k].X, xy[k].Y = s.X[k], s.Y[k]
		}
		if s.Err != nil {
			band := make(plotter.XYs, 0, 2*len(xy))
			for k := range xy {
				band = append(band, plotter.XY{X: xy[k].X, Y: xy[k].Y + s.Err[k]})
			}
			for k := len(xy) - 1; k >= 0; k-- {
				band = append(band, plotter.XY{X: xy[k].X, Y: xy[k].Y - s.Err[k]})
			}
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return fmt.Errorf("%s: series %q: %v", path, s.Name, err)
			}
			poly.Color = withAlpha(col, 0x38)
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		line, points, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("%s: series %q: %v", path, s.Name, err)
		}
		line.Color = col
		line.Width = vg.Points(2)
		line.Dashes = seriesDashes(i)
		points.Color = col
		points.Shape = plotutil.Shape(i % 8)
		points.Radius = vg.Points(3)
		p.Add(line, points)
		names = append(names, s.Name)
		thumbs = append(thumbs, []plot.Thumbnailer{line, points})
	}
	return save(path, p, names, thumbs)
}

// BarPlot writes a PNG grouped bar chart: one group per entry of groups
// (on the x axis), one coloured bar per series within each group.
func BarPlot(path, title, ylabel string, groups []string, series []BarSeries) error {
	if len(series) == 0 || len(groups) == 0 {
		return fmt.Errorf("%s: bar plot %q needs at least one group and one series", path, title)
	}
	p := newPlot(title, "", ylabel)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.NominalX(groups...)
	long := 0
	for _, g := range groups {
		long = max(long, len(g))
	}
	if long*len(groups) > 90 { // tick labels would collide: slant them
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	// Bar width in points: the data area is about the canvas minus the
	// legend and the y axis; give each group 80% of its share.
	legendW := legendWidth(p, barNames(series))
	area := vg.Length(WidthPx)*vg.Inch/dpi - legendW - vg.Points(80)
	w := area / vg.Length(len(groups)) * 0.8 / vg.Length(len(series))
	var names []string
	var thumbs [][]plot.Thumbnailer
	for i, s := range series {
		if len(s.Values) != len(groups) || (s.Err != nil && len(s.Err) != len(groups)) {
			return fmt.Errorf("%s: series %q: %d values, %d errors for %d groups", path, s.Name, len(s.Values), len(s.Err), len(groups))
		}
		if err := finite(s.Values, s.Err); err != nil {
			return fmt.Errorf("%s: series %q: %v", path, s.Name, err)
		}
		bars, err := plotter.NewBarChart(plotter.Values(s.Values), w)
		if err != nil {
			return fmt.Errorf("%s: series %q: %v", path, s.Name, err)
		}
		bars.Color = seriesColor(i)
		bars.LineStyle.Width = vg.Points(0.5)
		bars.Offset = (vg.Length(i) - vg.Length(len(series)-1)/2) * w
		p.Add(bars)
		if s.Err != nil {
			p.Add(&barErrors{values: s.Values, errs: s.Err, offset: bars.Offset, cap: w / 3})
		}
		names = append(names, s.Name)
		thumbs = append(thumbs, []plot.Thumbnailer{bars})
	}
	// Headroom so the tallest bar does not touch the title.
	p.Y.Min = math.Min(p.Y.Min, 0)
	p.Y.Max += 0.05 * (p.Y.Max - p.Y.Min)
	return save(path, p, names, thumbs)
}

func barNames(series []BarSeries) []string {
	var n []string
	for _, s := range series {
		n = append(n, s.Name)
	}
	return n
}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Label.TextStyle.Font.Size = vg.Points(12)
	p.Y.Label.TextStyle.Font.Size = vg.Points(12)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	// Wide legend swatches, so that a dash pattern shows a full period.
	p.Legend.ThumbnailWidth = vg.Points(36)
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	p.Add(plotter.NewGrid())
	return p
}

func legendWidth(p *plot.Plot, names []string) vg.Length {
	var w vg.Length
	for _, n := range names {
		w = max(w, p.Legend.TextStyle.Rectangle(" "+n).Max.X)
	}
	// em space between icon and text, a gap to the plot, a right margin.
	return w + p.Legend.ThumbnailWidth + vg.Points(30)
}

// save renders p with its legend in a column to the right of the plot
// and writes the PNG atomically.
func save(path string, p *plot.Plot, names []string, thumbs [][]plot.Thumbnailer) error {
	for i, n := range names {
		p.Legend.Add(n, thumbs[i]...)
	}
	p.Legend.Left = true // icons first, text after, in the right-hand column
	p.Legend.Top = true
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(WidthPx)*vg.Inch/dpi, vg.Length(HeightPx)*vg.Inch/dpi), vgimg.UseDPI(dpi))
	dc := draw.New(img)
	lw := legendWidth(p, names)
	// Plot.Draw also draws the legend; draw it separately instead.
	legend := p.Legend
	p.Legend = plot.NewLegend()
	p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
	lc := draw.Crop(dc, dc.Max.X-dc.Min.X-lw+vg.Points(10), -vg.Points(10), 0, -vg.Points(40))
	legend.Draw(lc)
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// barErrors draws vertical error bars on a grouped bar chart: x is the
// group index shifted by the bar's offset, which is in canvas units, so
// a plain plotter.YErrorBars (data units only) cannot place them.
type barErrors struct {
	values, errs []float64
	offset, cap  vg.Length
}

func (b *barErrors) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	for i, v := range b.values {
		x := trX(float64(i)) + b.offset
		lo, hi := trY(v-b.errs[i]), trY(v+b.errs[i])
		c.StrokeLine2(sty, x, lo, x, hi)
		c.StrokeLine2(sty, x-b.cap/2, lo, x+b.cap/2, lo)
		c.StrokeLine2(sty, x-b.cap/2, hi, x+b.cap/2, hi)
	}
}

func (b *barErrors) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for i, v := range b.values {
		ymin = math.Min(ymin, v-b.errs[i])
		ymax = math.Max(ymax, v+b.errs[i])
	}
	return 0, float64(len(b.values) - 1), ymin, ymax
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	// Non-premultiplied colour with the given alpha.
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

func finite(xs ...[]float64) error {
	for _, x := range xs {
		for i, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("value %d is %v (plots need finite numbers)", i, v)
			}
		}
	}
	return nil
}

// palette is the Okabe–Ito colour-blind-safe set (Okabe & Ito 2008)
// without its yellow, which is too faint on white, plus a brown: eight
// saturated colours that stay apart in print and for common colour-vision
// deficiencies. (gonum's plotutil palette has seven pastel colours, so the
// eighth series repeated the first.)
var palette = []color.Color{
	color.RGBA{0x00, 0x72, 0xB2, 0xff}, // blue
	color.RGBA{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	color.RGBA{0x00, 0x9E, 0x73, 0xff}, // bluish green
	color.RGBA{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	color.RGBA{0xE6, 0x9F, 0x00, 0xff}, // orange
	color.RGBA{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	color.RGBA{0x00, 0x00, 0x00, 0xff}, // black
	color.RGBA{0x8C, 0x56, 0x4B, 0xff}, // brown
}

// seriesColor is the colour of the i-th series in every plot.
func seriesColor(i int) color.Color { return palette[i%len(palette)] }

// dashes are six patterns (in points) that stay distinct at a 2-point line
// width; the count is coprime with the eight colours, so series i and
// i+8 differ in pattern even where their colour repeats.
var dashes = [][]vg.Length{
	nil,                          // solid
	{vg.Points(8), vg.Points(4)}, // dashed
	{vg.Points(2), vg.Points(3)}, // dotted
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},                             // dash-dot
	{vg.Points(14), vg.Points(4)},                                                        // long dash
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3), vg.Points(2), vg.Points(3)}, // dash-dot-dot
}

func seriesDashes(i int) []vg.Length { return dashes[i%len(dashes)] }
