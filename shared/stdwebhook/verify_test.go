package stdwebhook

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestVerifyVector(t *testing.T) {
	key := mustSecret(t, vecSecret)
	err := Verify([]Secret{key}, vecID, vecTimestamp, vecSignature, []byte(vecBody), time.Unix(vecUnix, 0), 0)
	checkErr(t, err, nil)
}

func TestVerify(t *testing.T) {
	key := mustSecret(t, vecSecret)
	other := mustSecret(t, "whsec_"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	sent := time.Unix(vecUnix, 0)
	body := []byte(vecBody)
	sig := vecSignature
	rawSig := strings.TrimPrefix(sig, "v1,")

	// req is one verification attempt; zero fields take the vector's values
	// so each case only spells out what it changes.
	type req struct {
		secrets   []Secret
		id        string
		timestamp string
		signature string
		body      []byte
		now       time.Time
		tolerance time.Duration
	}
	fill := func(r req) req {
		if r.secrets == nil {
			r.secrets = []Secret{key}
		}
		if r.id == "" {
			r.id = vecID
		}
		if r.timestamp == "" {
			r.timestamp = vecTimestamp
		}
		if r.signature == "" {
			r.signature = sig
		}
		if r.body == nil {
			r.body = body
		}
		if r.now.IsZero() {
			r.now = sent
		}
		return r
	}
	const none = "\x00none" // marks a header value that must be sent empty

	tests := []struct {
		name    string
		req     req
		want    error
		errText string
	}{
		{name: "valid", req: req{}},
		{name: "timestamp with surrounding spaces", req: req{timestamp: " " + vecTimestamp + " "}},
		{name: "timestamp with leading zero is canonicalised", req: req{timestamp: "0" + vecTimestamp}},
		{name: "signature with extra spaces", req: req{signature: "  " + sig + "  "}},

		{name: "missing id", req: req{id: none}, want: ErrMissingHeader, errText: HeaderID},
		{name: "missing timestamp", req: req{timestamp: none}, want: ErrMissingHeader, errText: HeaderTimestamp},
		{name: "missing signature", req: req{signature: none}, want: ErrMissingHeader, errText: HeaderSignature},

		{name: "timestamp not a number", req: req{timestamp: "yesterday"}, want: ErrBadTimestamp},
		{name: "timestamp blank", req: req{timestamp: "   "}, want: ErrBadTimestamp},
		{name: "timestamp decimal", req: req{timestamp: vecTimestamp + ".5"}, want: ErrBadTimestamp},
		{name: "timestamp negative", req: req{timestamp: "-1"}, want: ErrBadTimestamp},
		{name: "timestamp explicit plus", req: req{timestamp: "+" + vecTimestamp}, want: ErrBadTimestamp},
		{name: "timestamp in milliseconds", req: req{timestamp: vecTimestamp + "000"}, want: ErrBadTimestamp},
		{name: "timestamp overflows int64", req: req{timestamp: "99999999999999999999999999"}, want: ErrBadTimestamp},
		{name: "timestamp hex", req: req{timestamp: "0x60378f72"}, want: ErrBadTimestamp},
		{name: "timestamp non-ASCII digits", req: req{timestamp: "١٦١٤٢٦٥٣٣٠"}, want: ErrBadTimestamp},

		{name: "exactly tolerance old", req: req{now: sent.Add(DefaultTolerance)}},
		{name: "one second too old", req: req{now: sent.Add(DefaultTolerance + time.Second)}, want: ErrTooOld},
		{name: "one nanosecond too old", req: req{now: sent.Add(DefaultTolerance + 1)}, want: ErrTooOld},
		{name: "exactly tolerance ahead", req: req{now: sent.Add(-DefaultTolerance)}},
		{name: "one second too new", req: req{now: sent.Add(-DefaultTolerance - time.Second)}, want: ErrTooNew},
		{name: "custom tolerance accepted", req: req{now: sent.Add(10 * time.Second), tolerance: 10 * time.Second}},
		{name: "custom tolerance exceeded", req: req{now: sent.Add(11 * time.Second), tolerance: 10 * time.Second}, want: ErrTooOld},
		{name: "negative tolerance means default", req: req{now: sent.Add(DefaultTolerance), tolerance: -time.Second}},
		{name: "year 1 now, year 9999 timestamp", req: req{now: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), timestamp: "253402300799"}, want: ErrTooNew},
		{name: "far future now", req: req{now: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, want: ErrTooOld},

		{name: "mutated body", req: req{body: []byte(`{"test": 2432232315}`)}, want: ErrNoMatch},
		{name: "empty body", req: req{body: []byte{}}, want: ErrNoMatch},
		{name: "mutated id", req: req{id: vecID + "x"}, want: ErrNoMatch},
		{name: "id with dot", req: req{id: "msg.1"}, want: ErrNoMatch, errText: "'.'"},
		{name: "other timestamp", req: req{timestamp: "1614265331"}, want: ErrNoMatch},
		{name: "wrong secret", req: req{secrets: []Secret{other}}, want: ErrNoMatch},
		{name: "rotation second secret matches", req: req{secrets: []Secret{other, key}}},
		{name: "rotation first secret matches", req: req{secrets: []Secret{key, other}}},
		{name: "empty secret skipped", req: req{secrets: []Secret{{}, key}}},
		{name: "no secrets", req: req{secrets: []Secret{}}, want: ErrBadSecret},
		{name: "only empty secrets", req: req{secrets: []Secret{nil, {}}}, want: ErrBadSecret},

		{name: "several entries, valid last", req: req{signature: "v1a,bm90IGEgc2ln garbage v1,!!!! v1, v1,AAAA " + sig}},
		{name: "several entries, valid first", req: req{signature: sig + " v2,AAAA"}},
		{name: "only v1a entry", req: req{signature: "v1a," + rawSig}, want: ErrNoMatch},
		{name: "version is case-sensitive", req: req{signature: "V1," + rawSig}, want: ErrNoMatch},
		{name: "no comma", req: req{signature: rawSig}, want: ErrNoMatch},
		{name: "unpadded signature refused", req: req{signature: "v1," + strings.TrimRight(rawSig, "=")}, want: ErrNoMatch},
		{name: "truncated signature", req: req{signature: sig[:len(sig)-5] + "===="}, want: ErrNoMatch},
		{name: "signature with extra bytes", req: req{signature: "v1," + base64.StdEncoding.EncodeToString(append(mustDecode(t, rawSig), 0))}, want: ErrNoMatch},
		{name: "comma-separated entries are one entry", req: req{signature: "v1,AAAA," + sig}, want: ErrNoMatch},
		{name: "oversized entry", req: req{signature: "v1," + strings.Repeat("A", 1<<12)}, want: ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fill(tt.req)
			for _, p := range []*string{&r.id, &r.timestamp, &r.signature} {
				if *p == none {
					*p = ""
				}
			}
			err := Verify(r.secrets, r.id, r.timestamp, r.signature, r.body, r.now, r.tolerance)
			checkErr(t, err, tt.want)
			if err != nil && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not mention %q", err, tt.errText)
			}
		})
	}
}

// TestVerifyErrorsDoNotLeakSecret guards the logging contract: errors may
// end up in logs, so they must never contain key material.
func TestVerifyErrorsDoNotLeakSecret(t *testing.T) {
	key := mustSecret(t, vecSecret)
	now := time.Unix(vecUnix, 0)
	err := Verify([]Secret{key}, vecID, vecTimestamp, "v1,AAAA", []byte(vecBody), now, 0)
	checkErr(t, err, ErrNoMatch)
	for _, leak := range []string{vecSecret[len("whsec_"):], string(key), strings.TrimPrefix(vecSignature, "v1,")} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("error %q leaks %q", err, leak)
		}
	}
}

// TestVerifyZeroNow checks that the zero time.Time, the easiest wrong
// value to pass, cannot overflow the window arithmetic into an acceptance.
func TestVerifyZeroNow(t *testing.T) {
	key := mustSecret(t, vecSecret)
	for _, ts := range []string{"0", vecTimestamp, "253402300799"} {
		t.Run(ts, func(t *testing.T) {
			sig := Sign(key, vecID, time.Unix(mustParseTS(t, ts), 0), []byte(vecBody))
			err := Verify([]Secret{key}, vecID, ts, sig, []byte(vecBody), time.Time{}, 0)
			checkErr(t, err, ErrTooNew)
		})
	}
}

func mustParseTS(t testing.TB, s string) int64 {
	t.Helper()
	n, ok := parseTimestamp(s)
	if !ok {
		t.Fatalf("parseTimestamp(%q) failed", s)
	}
	return n
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1614265330", 1614265330, true},
		{"\t1614265330\n", 1614265330, true},
		{"253402300799", maxTimestamp, true},
		{"253402300800", 0, false},
		{"9223372036854775807", 0, false},
		{"9223372036854775808", 0, false},
		{strings.Repeat("9", 1000), 0, false},
		{"", 0, false},
		{"1 2", 0, false},
		{"1e9", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseTimestamp(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("parseTimestamp(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkVerify measures the per-request cost with a typical 1 KiB body,
// for the common single-secret case and for a rotation where only the
// second secret matches (two HMACs).
func BenchmarkVerify(b *testing.B) {
	key := mustSecret(b, vecSecret)
	old := mustSecret(b, "whsec_"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	now := time.Unix(vecUnix, 0)
	body := bytes.Repeat([]byte("a"), 1024)
	sig := Sign(key, vecID, now, body)
	for _, bc := range []struct {
		name    string
		secrets []Secret
	}{
		{"one secret", []Secret{key}},
		{"rotation second matches", []Secret{old, key}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := Verify(bc.secrets, vecID, vecTimestamp, sig, body, now, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
