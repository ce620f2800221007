package lambdaevent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// samples are every event the repository ships (what API Gateway and the
// SQS event source mapping send), plus edge cases of the decoder's own.
func samples(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../../events/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		if filepath.Base(filepath.Dir(f)) == "tenant" {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = raw
	}
	return out
}

// TestSamplesTakeTheFastPath: the shapes Lambda sends are decoded by the
// fast decoder, into what encoding/json makes of them.
func TestSamplesTakeTheFastPath(t *testing.T) {
	s := samples(t)
	if len(s) < 20 {
		t.Fatalf("only %d samples", len(s))
	}
	for name, raw := range s {
		t.Run(name, func(t *testing.T) {
			var want, got Event
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			d := newDecoder(raw)
			if !d.event(&got) {
				t.Fatalf("fast path refused the sample (at byte %d)", d.Offset())
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("fast decode differs:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestDecode: inputs the fast decoder leaves to encoding/json come out as
// encoding/json decodes them (or fail as it fails), and the fast path
// decodes strings as it does.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		fast     bool // the fast decoder takes it
		err      bool
	}{
		{"escapes", `{"routeKey":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00","body":"x"}`, true, false},
		{"lone surrogate", `{"body":"\ud800x\udc00"}`, true, false},
		{"surrogate then escape", `{"body":"\ud800\n"}`, true, false},
		{"invalid UTF-8", "{\"body\":\"a\xffb\xc3\"}", true, false},
		{"valid UTF-8", `{"body":"héllo 世界"}`, true, false},
		{"empty maps and lists", `{"headers":{},"cookies":[],"Records":[]}`, true, false},
		{"repeated header", `{"headers":{"a":"1","a":"2"}}`, true, false},
		{"negative zero epoch", `{"requestContext":{"timeEpoch":-0}}`, true, false},
		{"sqs unknown fields skipped", `{"Records":[{"messageId":"m","x":[1,-2.5e+3,true,false,null,{"y":"\u0041"}],"attributes":{"SenderId":"s","MessageGroupId":"g"}}]}`, true, false},
		{"as json.Marshal writes a request", marshalled(t), true, false},
		{"client certificate", `{"requestContext":{"authentication":{"clientCert":{"clientCertPem":"p","issuerDN":"i","serialNumber":"1","subjectDN":"s","validity":{"notAfter":"a","notBefore":"b"}}}}}`, true, false},
		{"unknown certificate field", `{"requestContext":{"authentication":{"clientCert":{"x":"y"}}}}`, false, false},
		{"repeated field", `{"body":"a","body":"b"}`, false, false},
		{"repeated object", `{"requestContext":{"stage":"a"},"requestContext":{"apiId":"b"}}`, false, false},
		{"case-folded key", `{"ROUTEKEY":"x"}`, false, false},
		{"case-folded sqs key", `{"Records":[{"MessageID":"m"}]}`, false, false},
		{"case-folded attribute", `{"Records":[{"attributes":{"messagegroupid":"g"}}]}`, false, false},
		{"kelvin sign fold", "{\"Records\":[{\"attributes\":{\"\u212aey\":\"g\",\"SentTimestamp\":\"1\"}}]}", true, false},
		{"null header", `{"headers":null}`, false, false},
		{"null string", `{"body":null}`, false, false},
		{"authorizer", `{"requestContext":{"authorizer":{"jwt":{"claims":{"a":"b"}}}}}`, false, false},
		{"fractional epoch", `{"requestContext":{"timeEpoch":1.5}}`, false, true},
		{"epoch overflow", `{"requestContext":{"timeEpoch":99999999999999999999}}`, false, true},
		{"leading zero", `{"requestContext":{"timeEpoch":01}}`, false, true},
		{"string epoch", `{"requestContext":{"timeEpoch":"1"}}`, false, true},
		{"number body", `{"body":1}`, false, true},
		{"control character", "{\"body\":\"a\nb\"}", false, true},
		{"bad escape", `{"body":"\x"}`, false, true},
		{"short unicode escape", `{"body":"\u12"}`, false, true},
		{"trailing comma", `{"body":"a",}`, false, true},
		{"trailing data", `{"body":"a"} x`, false, true},
		{"two values", `{}{}`, false, true},
		{"unterminated", `{"body":"a`, false, true},
		{"not an object", `[1]`, false, true},
		{"empty", ``, false, true},
		{"bad skipped number", `{"Records":[{"x":-}]}`, false, true},
		{"bad skipped literal", `{"Records":[{"x":tru}]}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fast Event
			d := newDecoder([]byte(tc.in))
			if took := d.event(&fast); took != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", took, tc.fast)
			}
			var want, got Event
			wantErr := json.Unmarshal([]byte(tc.in), &want)
			err := Decode([]byte(tc.in), &got)
			if (err != nil) != tc.err || (wantErr != nil) != tc.err {
				t.Fatalf("Decode error %v, encoding/json %v; want an error: %v", err, wantErr, tc.err)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			if tc.fast && !reflect.DeepEqual(fast, want) {
				t.Fatalf("fast got %+v\nwant %+v", fast, want)
			}
		})
	}
}

// marshalled is a sample request as json.Marshal writes it (every field,
// empty ones too): how webhook-message forwards a request it does not own.
func marshalled(t testing.TB) string {
	var ev Event
	if err := json.Unmarshal(samples(t)["generic-message.json"], &ev); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(ev.APIGatewayV2HTTPRequest)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// FuzzDecode holds the fast decoder to encoding/json: whatever it accepts,
// encoding/json accepts too and decodes the same.
func FuzzDecode(f *testing.F) {
	for _, raw := range samples(f) {
		f.Add(raw)
	}
	f.Add([]byte(marshalled(f)))
	f.Add([]byte(`{"body":"\ud800\udc00\u00e9\"","headers":{"a":"b"},"cookies":["c"]}`))
	f.Add([]byte(`{"Records":[{"messageId":"m","attributes":{"ApproximateReceiveCount":"2"},"messageAttributes":{"k":{"stringValue":"v","dataType":"String"}}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast Event
		d := newDecoder(raw)
		if !d.event(&fast) {
			return
		}
		var want Event
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, raw)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("fast decode differs for %q:\n got %+v\nwant %+v", raw, fast, want)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"generic-message.json", "sqs-message.json"} {
		raw := samples(b)[name]
		b.Run(name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				var ev Event
				if err := Decode(raw, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				var ev Event
				if err := json.Unmarshal(raw, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
