package main

import (
	"slices"
	"strings"
	"time"
)

// percentile is the nearest-rank percentile q (0..1] of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cutPair(kv string) (string, string, bool) { return strings.Cut(kv, "=") }

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}
