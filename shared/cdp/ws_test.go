package cdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// frame builds one server frame (unmasked unless mask is given).
func frame(fin bool, op byte, payload []byte, mask ...byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	m := byte(0)
	if len(mask) == 4 {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, m|byte(n))
	case n <= 0xFFFF:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if m != 0 {
		out = append(out, mask...)
		masked := make([]byte, len(payload))
		for i, c := range payload {
			masked[i] = c ^ mask[i%4]
		}
		payload = masked
	}
	return append(out, payload...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReadMessage(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 70000)
	tests := []struct {
		name     string
		in       []byte
		want     string
		controls string // opcodes seen by control, as hex digits
		err      string
	}{
		{name: "short text", in: frame(true, opText, []byte(`{"id":1}`)), want: `{"id":1}`},
		{name: "16-bit length", in: frame(true, opText, big[:300]), want: string(big[:300])},
		{name: "64-bit length", in: frame(true, opText, big), want: string(big)},
		{name: "fragments with a ping between", in: cat(frame(false, opText, []byte("ab")), frame(true, opPing, []byte("p")), frame(false, opContinuation, []byte("cd")), frame(true, opContinuation, []byte("e"))), want: "abcde", controls: "9"},
		{name: "masked server frame is unmasked", in: frame(true, opText, []byte("hello"), 1, 2, 3, 4), want: "hello"},
		{name: "empty message", in: frame(true, opText, nil), want: ""},
		{name: "close", in: frame(true, opClose, nil), controls: "8", err: "closed"},
		{name: "continuation first", in: frame(true, opContinuation, []byte("x")), err: "continuation frame outside"},
		{name: "text inside a fragmented message", in: cat(frame(false, opText, []byte("a")), frame(true, opText, []byte("b"))), err: "new message inside"},
		{name: "reserved opcode", in: frame(true, 0x3, []byte("x")), err: "reserved opcode"},
		{name: "reserved bits", in: []byte{0xC1, 0x00}, err: "reserved bits"},
		{name: "long control frame", in: frame(true, opPing, bytes.Repeat([]byte("p"), 126)), err: "control frame"},
		{name: "fragmented control frame", in: frame(false, opPing, []byte("p")), err: "control frame"},
		{name: "huge length", in: []byte{0x81, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, err: "over"},
		{name: "truncated header", in: []byte{0x81}, err: "websocket read"},
		{name: "truncated payload", in: []byte{0x81, 0x05, 'a'}, err: "websocket read"},
		{name: "eof", in: nil, err: "EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var controls strings.Builder
			got, err := readMessage(bytes.NewReader(tc.in), func(op byte, _ []byte) error {
				controls.WriteString(strings.ToUpper(string("0123456789ABCDEF"[op])))
				if op == opClose {
					return errClosed
				}
				return nil
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if string(got) != tc.want {
				t.Errorf("message %.40q, want %.40q", got, tc.want)
			}
			if controls.String() != tc.controls {
				t.Errorf("control frames %q, want %q", controls.String(), tc.controls)
			}
		})
	}
}

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		in  string
		ok  bool
		id  int64
		evt string
	}{
		{in: `{"id":3,"result":{}}`, ok: true, id: 3},
		{in: `{"method":"Page.loadEventFired","params":{"timestamp":1},"sessionId":"S"}`, ok: true, evt: "Page.loadEventFired"},
		{in: `{"id":4,"error":{"code":-32000,"message":"No node"}}`, ok: true, id: 4},
		{in: `{}`},
		{in: `{"id":-1}`},
		{in: `[1]`},
		{in: `not json`},
	}
	for _, tc := range tests {
		m, err := decodeMessage([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (m.ID != tc.id || m.Method != tc.evt) {
			t.Errorf("%s: id %d method %q", tc.in, m.ID, m.Method)
		}
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3's example.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept key %q", got)
	}
}

// FuzzReadMessage: whatever the peer sends, the reader returns a message
// or an error, never panics, and never returns more than maxMessage.
func FuzzReadMessage(f *testing.F) {
	f.Add(frame(true, opText, []byte(`{"id":1,"result":{}}`)))
	f.Add(cat(frame(false, opText, []byte("ab")), frame(true, opPing, nil), frame(true, opContinuation, []byte("c"))))
	f.Add(frame(true, opText, bytes.Repeat([]byte("y"), 200), 9, 8, 7, 6))
	f.Add([]byte{0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, err := readMessage(bytes.NewReader(in), func(op byte, _ []byte) error {
			if op == opClose {
				return errClosed
			}
			return nil
		})
		if err == nil && len(msg) > maxMessage {
			t.Fatalf("message of %d bytes", len(msg))
		}
		if err != nil && msg != nil {
			t.Fatal("a message with an error")
		}
		if err != nil && !errors.Is(err, errClosed) && err.Error() == "" {
			t.Fatal("an error without a message")
		}
	})
}

// FuzzDecodeMessage: any bytes decode to a message with an id or a method,
// or to an error.
func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"id":1,"result":{"frameId":"F"}}`))
	f.Add([]byte(`{"method":"Runtime.exceptionThrown","params":{},"sessionId":"S"}`))
	f.Add([]byte(`{"id":2,"error":{"code":-32601,"message":"'X' wasn't found"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := decodeMessage(in)
		if err == nil && m.ID <= 0 && m.Method == "" {
			t.Fatalf("accepted %q without an id or a method", in)
		}
	})
}
