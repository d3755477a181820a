package printer

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
)

// TimelineLegend explains the marks of a drawn timeline.
const TimelineLegend = "- created  S started  R ready  = running  K kill sent  X exited  ~ back-off  > still running"

// timelineRow is one container instance laid out on the axis.
type timelineRow struct {
	label  string
	bar    []rune
	result string
}

// DrawTimeline draws every instance of t as one row on a shared time axis
// width columns wide (labels and results included), so the start order,
// the restarts and the shutdown order show at a glance.
func DrawTimeline(out io.Writer, t *api.PodTimeline, width int) error {
	if len(t.Instances) == 0 {
		_, err := fmt.Fprintf(out, "pod %s has no container instances yet\n", t.Pod)
		return err
	}
	start, end := timelineSpan(t)
	labelW, resultW := 0, 0
	rows := make([]timelineRow, len(t.Instances))
	for i, in := range t.Instances {
		rows[i] = timelineRow{label: instanceLabel(in), result: instanceResult(in)}
		labelW = max(labelW, len(rows[i].label))
		resultW = max(resultW, len(rows[i].result))
	}
	barW := max(width-labelW-resultW-4, 20)
	for i, in := range t.Instances {
		rows[i].bar = drawBar(in, start, end, barW)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", fit(fmt.Sprintf("Pod %s: %d instances over %s (%s to %s)", t.Pod, len(t.Instances),
		end.Sub(start).Round(100*time.Millisecond), clock(start), clock(end)), width))
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s |%s| %s\n", labelW, r.label, string(r.bar), r.result)
	}
	axis := []rune(strings.Repeat(" ", barW))
	l, rgt := []rune(clock(start)), []rune(clock(end))
	copy(axis, l)
	if len(rgt) <= barW-len(l)-1 {
		copy(axis[barW-len(rgt):], rgt)
	}
	fmt.Fprintf(&b, "%-*s  %s\n", labelW, "", strings.TrimRight(string(axis), " "))
	for _, l := range wrap(TimelineLegend, width) {
		fmt.Fprintf(&b, "%s\n", l)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// fit cuts s to width columns (a wrapped line would break the drawing).
func fit(s string, width int) string {
	if width > 1 && len(s) > width {
		return s[:width-1] + "…"
	}
	return s
}

// wrap breaks the legend between its entries (two spaces apart).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, item := range strings.Split(s, "  ") {
		if line != "" && len(line)+2+len(item) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += "  "
		}
		line += item
	}
	return append(lines, line)
}

func clock(t time.Time) string { return t.Local().Format("15:04:05") }

// timelineSpan is the axis: from the first instance's creation to the
// last thing that happened, or now while anything still runs or waits.
func timelineSpan(t *api.PodTimeline) (time.Time, time.Time) {
	var start, end time.Time
	live := false
	for _, in := range t.Instances {
		for _, p := range []*time.Time{in.CreatedAt, in.StartedAt, in.ReadyAt, in.KilledAt, in.FinishedAt} {
			if p == nil {
				continue
			}
			if start.IsZero() || p.Before(start) {
				start = *p
			}
			if p.After(end) {
				end = *p
			}
		}
		if in.State == "Running" || in.State == "Created" || (in.BackoffUntil != nil && in.BackoffUntil.After(t.Now)) {
			live = true
		}
	}
	if live && t.Now.After(end) {
		end = t.Now
	}
	if start.IsZero() {
		start = t.Now
	}
	if !end.After(start) {
		end = start.Add(time.Second)
	}
	return start, end
}

func instanceLabel(in api.TimelineInstance) string {
	kind := ""
	switch in.Class {
	case "Sidecar":
		kind = " (sidecar)"
	case "Init":
		kind = " (init)"
	}
	return fmt.Sprintf("%s%s #%d", in.Container, kind, in.Attempt)
}

func instanceResult(in api.TimelineInstance) string {
	switch {
	case in.ExitCode != nil:
		s := fmt.Sprintf("exit %d", *in.ExitCode)
		if in.Reason != "" && in.Reason != "Completed" && in.Reason != "Error" {
			s += " " + in.Reason
		}
		if in.KilledAt != nil {
			s += " (killed)"
		}
		return s
	case in.State == "Running" && in.KilledAt != nil:
		return "stopping"
	case in.State == "Running":
		return "running"
	}
	return strings.ToLower(in.State)
}

// drawBar marks one instance's life on a bar of w columns.
func drawBar(in api.TimelineInstance, start, end time.Time, w int) []rune {
	bar := []rune(strings.Repeat(" ", w))
	col := func(t time.Time) int {
		c := int(float64(t.Sub(start)) / float64(end.Sub(start)) * float64(w-1))
		return min(max(c, 0), w-1)
	}
	fill := func(from, to time.Time, r rune) {
		for c := col(from); c <= col(to); c++ {
			bar[c] = r
		}
	}
	stop := end
	if in.FinishedAt != nil {
		stop = *in.FinishedAt
	}
	if in.CreatedAt != nil {
		until := stop
		if in.StartedAt != nil {
			until = *in.StartedAt
		}
		fill(*in.CreatedAt, until, '-')
	}
	if in.StartedAt != nil {
		fill(*in.StartedAt, stop, '=')
	}
	if in.FinishedAt != nil && in.BackoffUntil != nil {
		until := *in.BackoffUntil
		if until.After(end) {
			until = end
		}
		fill(*in.FinishedAt, until, '~')
	}
	mark := func(p *time.Time, r rune) {
		if p != nil {
			bar[col(*p)] = r
		}
	}
	mark(in.StartedAt, 'S')
	mark(in.ReadyAt, 'R')
	mark(in.KilledAt, 'K')
	mark(in.FinishedAt, 'X')
	if in.FinishedAt == nil && in.State == "Running" {
		bar[w-1] = '>'
	}
	return bar
}

// FormatCPU prints millicores as kubectl top does ("12m").
func FormatCPU(milli int64) string { return fmt.Sprintf("%dm", milli) }

// FormatMemory prints bytes as kubectl top does ("12Mi").
func FormatMemory(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%dGi", b>>30)
	case b >= 1<<20:
		return fmt.Sprintf("%dMi", b>>20)
	case b >= 1<<10:
		return fmt.Sprintf("%dKi", b>>10)
	}
	return fmt.Sprintf("%d", b)
}
