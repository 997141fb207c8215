// Command initsweep summarises the init sweep of docs/results/init.md: for
// each NAME=EVALDIR it reads EVALDIR/eval.json (warm eval --members --init)
// and prints one Markdown table row (probe accuracy of the shared init,
// members, ENS-M and WA-M on val and OOD, WA−ENS with its paired 95%
// bootstrap interval, human pairs, members' mean relative distance from
// the init); with -plots DIR it writes WA−ENS (val; its 95% interval in
// the legend) against the probe accuracy
// and against the member distance as PNGs (study/report's LinePlot).
//
//	go run ./docs/results/initsweep -plots docs/results base=runs/sweep/base/eval sft=...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rmeval"
)

type row struct {
	name               string
	probeVal, probeOOD float64
	memVal, memOOD     float64
	m                  int
	ensVal, waVal      float64
	ensOOD, waOOD      float64
	dVal, dOOD         stats.Interval
	human, humanENS    float64
	dist               float64
}

func main() {
	plots := flag.String("plots", "", "write the two PNG plots into this folder")
	flag.Parse()
	var rows []row
	for _, arg := range flag.Args() {
		name, dir, ok := strings.Cut(arg, "=")
		if !ok {
			fail(fmt.Errorf("argument %q: want NAME=EVALDIR", arg))
		}
		r, err := read(name, dir)
		if err != nil {
			fail(err)
		}
		rows = append(rows, r)
	}
	fmt.Println("| run | probe val | probe OOD | members val (mean) | M | ENS-M val | WA-M val | WA−ENS val [95%] | ENS-M OOD | WA-M OOD | WA−ENS OOD [95%] | WA-M human | mean rel. distance |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %d | %.1f | %.1f | %+.1f [%+.1f, %+.1f] | %.1f | %.1f | %+.1f [%+.1f, %+.1f] | %.1f | %.4f |\n",
			r.name, 100*r.probeVal, 100*r.probeOOD, 100*r.memVal, r.m, 100*r.ensVal, 100*r.waVal,
			100*r.dVal.Est, 100*r.dVal.Lo, 100*r.dVal.Hi, 100*r.ensOOD, 100*r.waOOD,
			100*r.dOOD.Est, 100*r.dOOD.Lo, 100*r.dOOD.Hi, 100*r.human, r.dist)
	}
	if *plots == "" {
		return
	}
	var byProbe, byDist []report.Series
	for _, r := range rows {
		// One point per run: a band needs two, so the interval goes in
		// the legend.
		name := fmt.Sprintf("%s [%+.1f, %+.1f]", r.name, 100*r.dVal.Lo, 100*r.dVal.Hi)
		byProbe = append(byProbe, report.Series{Name: name, X: []float64{100 * r.probeVal}, Y: []float64{100 * r.dVal.Est}})
		byDist = append(byDist, report.Series{Name: name, X: []float64{r.dist}, Y: []float64{100 * r.dVal.Est}})
	}
	if err := report.LinePlot(filepath.Join(*plots, "init-wa-ens-vs-probe.png"), "WA-M − ENS-M (val) against the init's probe accuracy", "probe accuracy on frozen features, val (%)", "WA − ENS, val (points)", byProbe); err != nil {
		fail(err)
	}
	if err := report.LinePlot(filepath.Join(*plots, "init-wa-ens-vs-distance.png"), "WA-M − ENS-M (val) against member distance", "mean ‖θ_i − θ_0‖ / ‖θ_0‖ over members", "WA − ENS, val (points)", byDist); err != nil {
		fail(err)
	}
}

func read(name, dir string) (row, error) {
	r := row{name: name}
	b, err := os.ReadFile(filepath.Join(dir, "eval.json"))
	if err != nil {
		return r, err
	}
	var res rmeval.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return r, fmt.Errorf("%s: %w", dir, err)
	}
	if res.Diagnostics == nil {
		return r, fmt.Errorf("%s: eval.json has no diagnostics (run warm eval with --init)", dir)
	}
	d := res.Diagnostics
	r.probeVal, r.probeOOD = d.Probe["val"].Acc, d.Probe["ood"].Acc
	for _, md := range d.Distances {
		r.dist += md.FromInit.Rel / float64(len(d.Distances))
	}
	r.m = len(res.Order)
	r.memVal, r.memOOD = res.Summary["val"].MemberMean, res.Summary["ood"].MemberMean
	r.ensVal, r.waVal = res.Summary["val"].ENS[r.m], res.Summary["val"].WA[r.m]
	r.ensOOD, r.waOOD = res.Summary["ood"].ENS[r.m], res.Summary["ood"].WA[r.m]
	r.human = res.Summary["human"].WA[r.m]
	ens, wa := rmeval.ENSName(r.m), rmeval.WAName(r.m)
	for _, sp := range []struct {
		split string
		dst   *stats.Interval
	}{{"val", &r.dVal}, {"ood", &r.dOOD}} {
		a, err1 := stats.DecodeCorrect(res.PerPair[sp.split][wa])
		e, err2 := stats.DecodeCorrect(res.PerPair[sp.split][ens])
		if err1 != nil || err2 != nil || len(a) == 0 || len(a) != len(e) {
			return r, fmt.Errorf("%s: per-pair correctness of %q / %q on %s missing or unreadable", dir, wa, ens, sp.split)
		}
		*sp.dst = stats.PairedAccuracyDiff(a, e, 2000, 1)
	}
	return r, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "initsweep:", err)
	os.Exit(1)
}
