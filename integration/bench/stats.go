package bench

import (
	"math"
	"sort"
	"time"
)

// Dist summarises a sample of durations in milliseconds. Percentiles use
// the nearest-rank method: with 30 samples p99 is the maximum.
type Dist struct {
	N      int     `json:"n"`
	Min    float64 `json:"minMs"`
	Median float64 `json:"medianMs"`
	P90    float64 `json:"p90Ms"`
	P99    float64 `json:"p99Ms"`
	Max    float64 `json:"maxMs"`
	Mean   float64 `json:"meanMs"`
}

// Summarize computes a Dist; an empty sample gives N=0 and zeros.
func Summarize(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	ms := make([]float64, len(ds))
	sum := 0.0
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
		sum += ms[i]
	}
	sort.Float64s(ms)
	return Dist{
		N: len(ms), Min: round2(ms[0]), Max: round2(ms[len(ms)-1]),
		Median: round2(percentile(ms, 50)), P90: round2(percentile(ms, 90)), P99: round2(percentile(ms, 99)),
		Mean: round2(sum / float64(len(ms))),
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// ratio is a/b rounded to 3 places, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
