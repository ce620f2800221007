// Package twiliotest is a fake Twilio for tests and the local stack: the
// parts of the REST API the bridge calls, checked the way Twilio checks
// them, and Twilio's side of the webhooks, signed the way Twilio signs them.
//
// REST (per twilio-oai's api_v2010 and messaging_v2 specifications):
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json          create a message (201)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json?To=…     list, newest first
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json    fetch
//	POST /v2/Indicators/Typing.json                               WhatsApp typing indicator
//
// Every request needs HTTP Basic with an API key of the account (SK…) or the
// Account SID and Auth Token (Twilio's error 20003 otherwise); a create is a
// form with To, one of From and MessagingServiceSid, and a Body (at most
// 1,600 characters) or a known ContentSid with ContentVariables. Twilio's
// refusals carry its error JSON ({code, message, more_info, status}).
//
// Webhooks: Visitor posts an incoming message to the bridge as Twilio does
// (form parameters, X-Twilio-Signature over the URL and the sorted
// parameters with the Auth Token, or a SharedKey with
// X-Twilio-Webhooks-Signature-Settings; JSON with bodySHA256 on request),
// applies Twilio's default opt-out handling (STOP blocks later messages with
// error 21610, START lifts it) and WhatsApp's 24-hour window (a free-form
// message later fails with 63016). Deliver posts a message's status
// callbacks.
//
// The signing here is written separately from the adapter's verifier, and
// tested against Twilio's published vectors, so the two check each other.
package twiliotest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Account is one Twilio account the fake serves.
type Account struct {
	SID          string // AC…
	AuthToken    string
	APIKeySid    string // SK…
	APIKeySecret string
	// SharedKey, when set, signs webhooks with HMAC-SHA256 and the
	// settings header, as a Webhooks Rule with a SharedKey does.
	SharedKeyID, SharedKey string
}

// Content is a Content API template the fake knows: its body (with {{n}}
// variables) and its quick-reply titles.
type Content struct {
	Body    string
	Actions []string
}

// Options configure the fake.
type Options struct {
	Accounts []Account
	Contents map[string]Content // by HX… SID
	// AdvancedOptOut adds OptOutType to keyword messages, as Twilio does
	// with Advanced Opt-Out.
	AdvancedOptOut bool
	// AutoStatus posts each created message's callbacks (sent, then
	// delivered or the failure) right away, for the local stack.
	AutoStatus bool
	Now        func() time.Time
	Client     *http.Client // for webhooks; default a client with a 10 s timeout
}

// Message is a message the fake holds: sent by the bridge or received from
// a visitor.
type Message struct {
	Sid                 string            `json:"sid"`
	AccountSid          string            `json:"account_sid"`
	To                  string            `json:"to"`
	From                string            `json:"from"`
	MessagingServiceSid string            `json:"messaging_service_sid"`
	Body                string            `json:"body"`
	ContentSid          string            `json:"-"`
	Variables           map[string]string `json:"-"`
	Direction           string            `json:"direction"`
	Status              string            `json:"status"`
	ErrorCode           *int              `json:"error_code"`
	NumSegments         string            `json:"num_segments"`
	DateCreated         string            `json:"date_created"`
	StatusCallback      string            `json:"-"`
	created             time.Time
	failWith            int // a status callback failure the fake will report
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	o   Options
	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	messages []*Message // in creation order
	optedOut map[string]bool
	lastIn   map[string]time.Time // visitor WhatsApp address → last message
	typing   []string
	failNext []failure
	calls    int
}

type failure struct {
	status int
	code   int
}

// New builds a fake; Start serves it.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Server{o: o, optedOut: map[string]bool{}, lastIn: map[string]time.Time{}}
}

// Start listens on addr (":0" style for a free port) and returns the base
// URL.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s.URL(), nil
}

// URL is the fake's base URL (for apiBaseUrl and messagingBaseUrl).
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the fake.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

// Sent returns the messages the bridge created to a visitor address (as
// Twilio writes it: +… or whatsapp:+…), oldest first.
func (s *Server) Sent(to string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Direction != "inbound" && m.To == to {
			out = append(out, *m)
		}
	}
	return out
}

// Typing returns the message SIDs typing indicators were shown for.
func (s *Server) Typing() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.typing...)
}

// Calls counts the REST requests served (any answer).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// FailNext makes the next create answer Twilio's error code with status.
func (s *Server) FailNext(status, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, failure{status: status, code: code})
}

// FailDelivery makes the next created message's status callback report
// "undelivered" (or "failed" for the WhatsApp window) with code.
func (s *Server) FailDelivery(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, failure{code: code})
}

var (
	e164RE    = regexp.MustCompile(`^(whatsapp:)?\+[1-9][0-9]{6,14}$`)
	shortRE   = regexp.MustCompile(`^[0-9]{3,8}$`)
	serviceRE = regexp.MustCompile(`^MG[0-9a-f]{32}$`)
	contentRE = regexp.MustCompile(`^HX[0-9a-f]{32}$`)
	varRE     = regexp.MustCompile(`\{\{([0-9A-Za-z_]{1,16})\}\}`)
)

// ServeHTTP serves the REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	acct, ok := s.authenticate(r)
	if !ok {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.URL.Path == "/v2/Indicators/Typing.json" && r.Method == http.MethodPost {
		s.typingIndicator(w, r, acct)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/"+acct.SID+"/Messages")
	if !ok {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	switch {
	case rest == ".json" && r.Method == http.MethodPost:
		s.create(w, r, acct)
	case rest == ".json" && r.Method == http.MethodGet:
		s.list(w, r, acct)
	case strings.HasPrefix(rest, "/") && strings.HasSuffix(rest, ".json") && r.Method == http.MethodGet:
		s.fetch(w, acct, strings.TrimSuffix(strings.TrimPrefix(rest, "/"), ".json"))
	default:
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

func (s *Server) authenticate(r *http.Request) (Account, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return Account{}, false
	}
	for _, a := range s.o.Accounts {
		if (user == a.APIKeySid && a.APIKeySid != "" && hmac.Equal([]byte(pass), []byte(a.APIKeySecret))) ||
			(user == a.SID && hmac.Equal([]byte(pass), []byte(a.AuthToken))) {
			return a, true
		}
	}
	return Account{}, false
}

// twilioError writes Twilio's error JSON.
func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status,
	})
}

func (s *Server) form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		twilioError(w, http.StatusUnsupportedMediaType, 20415, "Content-Type must be application/x-www-form-urlencoded")
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		twilioError(w, http.StatusBadRequest, 20001, "could not read the body")
		return nil, false
	}
	f, err := url.ParseQuery(string(b))
	if err != nil {
		twilioError(w, http.StatusBadRequest, 20001, "malformed form")
		return nil, false
	}
	return f, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, acct Account) {
	f, ok := s.form(w, r)
	if !ok {
		return
	}
	to, from, service := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid")
	body, content := f.Get("Body"), f.Get("ContentSid")
	switch {
	case !e164RE.MatchString(to):
		twilioError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number")
		return
	case from == "" && service == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
		return
	case service != "" && !serviceRE.MatchString(service):
		twilioError(w, http.StatusBadRequest, 21705, "Invalid Messaging Service SID")
		return
	case from != "" && !e164RE.MatchString(from) && !shortRE.MatchString(from):
		twilioError(w, http.StatusBadRequest, 21212, "Invalid From Number")
		return
	case from != "" && strings.HasPrefix(from, "whatsapp:") != strings.HasPrefix(to, "whatsapp:"):
		twilioError(w, http.StatusBadRequest, 63007, "From and To are on different channels")
		return
	case body == "" && content == "" && f.Get("MediaUrl") == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required")
		return
	case utf8.RuneCountInString(body) > 1600:
		twilioError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit")
		return
	}
	if cb := f.Get("StatusCallback"); cb != "" {
		if u, err := url.Parse(cb); err != nil || u.Host == "" || strings.Contains(u.Hostname(), "_") {
			twilioError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback")
			return
		}
	}
	var vars map[string]string
	if content != "" {
		c, known := s.o.Contents[content]
		if !contentRE.MatchString(content) || !known {
			twilioError(w, http.StatusBadRequest, 21655, "The ContentSid is invalid")
			return
		}
		if err := json.Unmarshal([]byte(f.Get("ContentVariables")), &vars); err != nil {
			twilioError(w, http.StatusBadRequest, 21656, "The ContentVariables parameter is invalid")
			return
		}
		for _, v := range vars {
			if utf8.RuneCountInString(v) > 255 {
				twilioError(w, http.StatusBadRequest, 21656, "A ContentVariables value is longer than 255 characters")
				return
			}
		}
		body = varRE.ReplaceAllStringFunc(c.Body, func(m string) string { return vars[varRE.FindStringSubmatch(m)[1]] })
	}
	s.mu.Lock()
	if len(s.failNext) > 0 && s.failNext[0].status != 0 {
		fl := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.mu.Unlock()
		twilioError(w, fl.status, fl.code, "injected failure")
		return
	}
	if s.optedOut[optKey(acct.SID, to)] {
		s.mu.Unlock()
		twilioError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	now := s.o.Now()
	m := &Message{
		Sid: newSid("SM"), AccountSid: acct.SID, To: to, From: from, MessagingServiceSid: service, Body: body,
		ContentSid: content, Variables: vars, Direction: "outbound-api", Status: "queued",
		NumSegments: "1", DateCreated: now.UTC().Format(time.RFC1123Z), StatusCallback: f.Get("StatusCallback"), created: now,
	}
	if strings.HasPrefix(to, "whatsapp:") {
		if last, ok := s.lastIn[acct.SID+to]; !ok || now.Sub(last) > 24*time.Hour {
			m.failWith = 63016
		}
	}
	if len(s.failNext) > 0 {
		m.failWith = s.failNext[0].code
		s.failNext = s.failNext[1:]
	}
	s.messages = append(s.messages, m)
	out := *m
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(out)
	if s.o.AutoStatus && m.StatusCallback != "" {
		go func() { _ = s.Deliver(context.Background(), out.Sid) }()
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, acct Account) {
	q := r.URL.Query()
	size, err := strconv.Atoi(q.Get("PageSize"))
	if q.Get("PageSize") == "" {
		size = 50
	} else if err != nil || size < 1 || size > 1000 {
		twilioError(w, http.StatusBadRequest, 20001, "Invalid PageSize")
		return
	}
	s.mu.Lock()
	var page []Message
	for i := len(s.messages) - 1; i >= 0 && len(page) < size; i-- {
		m := s.messages[i]
		if m.AccountSid == acct.SID && (q.Get("To") == "" || m.To == q.Get("To")) && (q.Get("From") == "" || m.From == q.Get("From")) {
			page = append(page, *m)
		}
	}
	s.mu.Unlock()
	if page == nil {
		page = []Message{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": page, "page": 0, "page_size": size})
}

func (s *Server) fetch(w http.ResponseWriter, acct Account, sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Sid == sid && m.AccountSid == acct.SID {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(*m)
			return
		}
	}
	twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
}

func (s *Server) typingIndicator(w http.ResponseWriter, r *http.Request, acct Account) {
	f, ok := s.form(w, r)
	if !ok {
		return
	}
	id := f.Get("messageId")
	if f.Get("channel") != "whatsapp" {
		twilioError(w, http.StatusBadRequest, 20001, "channel must be whatsapp")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Sid == id && m.AccountSid == acct.SID && m.Direction == "inbound" && strings.HasPrefix(m.From, "whatsapp:") {
			s.typing = append(s.typing, id)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]bool{"success": true})
			return
		}
	}
	twilioError(w, http.StatusBadRequest, 20001, "messageId is not an incoming WhatsApp message")
}

func optKey(account, number string) string { return account + "|" + number }

func newSid(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Visitor is an incoming message, as a visitor sends it.
type Visitor struct {
	From, To            string // +… or whatsapp:+…
	Body                string
	ProfileName         string
	MessagingServiceSid string
	Media               []Media
	ButtonText          string
	ButtonPayload       string
	Latitude, Longitude string
	Label, Address      string
	FromCountry         string
	// JSON posts the parameters as a JSON object with bodySHA256 in the
	// URL's query, as Twilio's JSON webhooks do.
	JSON bool
	// Extra parameters (Twilio adds new ones without notice).
	Extra map[string]string
}

// Media is an attachment.
type Media struct {
	ContentType, URL string
}

// Default opt-out keywords of Twilio's handling.
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	startWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true}
)

// Inbound sends a visitor's message to the bridge's webhook URL for
// account, as Twilio would, and returns the MessageSid with the bridge's
// answer.
func (s *Server) Inbound(ctx context.Context, account, webhook string, v Visitor) (string, int, []byte, error) {
	acct, ok := s.account(account)
	if !ok {
		return "", 0, nil, fmt.Errorf("twiliotest: no account %s", account)
	}
	sid := newSid("SM")
	if len(v.Media) > 0 {
		sid = newSid("MM")
	}
	p := url.Values{
		"MessageSid": {sid}, "SmsMessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {acct.SID},
		"From": {v.From}, "To": {v.To}, "Body": {v.Body}, "NumMedia": {strconv.Itoa(len(v.Media))},
		"NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
	set := func(k, val string) {
		if val != "" {
			p.Set(k, val)
		}
	}
	set("MessagingServiceSid", v.MessagingServiceSid)
	set("FromCountry", v.FromCountry)
	for i, m := range v.Media {
		p.Set("MediaContentType"+strconv.Itoa(i), m.ContentType)
		p.Set("MediaUrl"+strconv.Itoa(i), m.URL)
	}
	whatsapp := strings.HasPrefix(v.From, "whatsapp:")
	if whatsapp {
		set("ProfileName", v.ProfileName)
		p.Set("WaId", strings.TrimPrefix(v.From, "whatsapp:+"))
		set("ButtonText", v.ButtonText)
		set("ButtonPayload", v.ButtonPayload)
		set("Latitude", v.Latitude)
		set("Longitude", v.Longitude)
		set("Label", v.Label)
		set("Address", v.Address)
	}
	for k, val := range v.Extra {
		p.Set(k, val)
	}
	s.mu.Lock()
	now := s.o.Now()
	if whatsapp {
		s.lastIn[acct.SID+v.From] = now
	} else {
		word := strings.ToUpper(strings.TrimSpace(v.Body))
		key := optKey(acct.SID, v.From)
		switch {
		case stopWords[word]:
			s.optedOut[key] = true
			if s.o.AdvancedOptOut {
				p.Set("OptOutType", "STOP")
			}
		case startWords[word]:
			delete(s.optedOut, key)
			if s.o.AdvancedOptOut {
				p.Set("OptOutType", "START")
			}
		case helpWords[word] && s.o.AdvancedOptOut:
			p.Set("OptOutType", "HELP")
		}
	}
	s.messages = append(s.messages, &Message{Sid: sid, AccountSid: acct.SID, To: v.To, From: v.From, Body: v.Body, Direction: "inbound",
		Status: "received", DateCreated: now.UTC().Format(time.RFC1123Z), created: now})
	s.mu.Unlock()
	status, body, err := s.post(ctx, acct, webhook, p, v.JSON)
	return sid, status, body, err
}

// Deliver posts a created message's status callbacks: sent, then
// delivered, or the failure the fake was told of (WhatsApp's window
// included).
func (s *Server) Deliver(ctx context.Context, sid string) error {
	s.mu.Lock()
	var m *Message
	for _, x := range s.messages {
		if x.Sid == sid {
			m = x
		}
	}
	if m == nil {
		s.mu.Unlock()
		return fmt.Errorf("twiliotest: no message %s", sid)
	}
	msg := *m
	s.mu.Unlock()
	acct, _ := s.account(msg.AccountSid)
	steps := []struct {
		status string
		code   int
	}{{"sent", 0}, {"delivered", 0}}
	if msg.failWith != 0 {
		final := "undelivered"
		if msg.failWith == 63016 {
			final = "failed"
		}
		steps = steps[:1]
		steps = append(steps, struct {
			status string
			code   int
		}{final, msg.failWith})
	}
	for _, st := range steps {
		s.mu.Lock()
		m.Status = st.status
		if st.code != 0 {
			c := st.code
			m.ErrorCode = &c
		}
		s.mu.Unlock()
		if msg.StatusCallback == "" {
			continue
		}
		p := url.Values{
			"MessageSid": {msg.Sid}, "SmsSid": {msg.Sid}, "AccountSid": {msg.AccountSid}, "MessageStatus": {st.status},
			"SmsStatus": {st.status}, "To": {msg.To}, "From": {msg.From}, "ApiVersion": {"2010-04-01"},
		}
		if msg.MessagingServiceSid != "" {
			p.Set("MessagingServiceSid", msg.MessagingServiceSid)
		}
		if st.code != 0 {
			p.Set("ErrorCode", strconv.Itoa(st.code))
		}
		status, _, err := s.post(ctx, acct, msg.StatusCallback, p, false)
		if err != nil {
			return err
		}
		if status < 200 || status > 299 {
			return fmt.Errorf("twiliotest: status callback answered %d", status)
		}
	}
	return nil
}

func (s *Server) account(sid string) (Account, bool) {
	for _, a := range s.o.Accounts {
		if a.SID == sid {
			return a, true
		}
	}
	return Account{}, false
}

// post sends a signed webhook.
func (s *Server) post(ctx context.Context, acct Account, webhook string, p url.Values, asJSON bool) (int, []byte, error) {
	u, body, ct := webhook, []byte(p.Encode()), "application/x-www-form-urlencoded"
	signed := p
	if asJSON {
		obj := map[string]string{}
		for k := range p {
			obj[k] = p.Get(k)
		}
		body, _ = json.Marshal(obj)
		sum := sha256.Sum256(body)
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "bodySHA256=" + hex.EncodeToString(sum[:])
		ct, signed = "application/json", nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", newSid(""))
	if acct.SharedKey != "" {
		req.Header.Set("X-Twilio-Webhooks-Signature-Settings", "key="+acct.SharedKeyID+",algorithm=HMAC_SHA256")
		req.Header.Set("X-Twilio-Signature", Signature(sha256.New, acct.SharedKey, u, signed))
	} else {
		req.Header.Set("X-Twilio-Signature", Signature(sha1.New, acct.AuthToken, u, signed))
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, nil
}

// Signature is Twilio's webhook signature: base64 of the HMAC of the URL
// followed by each parameter's name and value, sorted by name.
func Signature(h func() hash.Hash, key, u string, params url.Values) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var data strings.Builder
	data.WriteString(u)
	for _, k := range names {
		for _, v := range params[k] {
			data.WriteString(k)
			data.WriteString(v)
		}
	}
	mac := hmac.New(h, []byte(key))
	mac.Write([]byte(data.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ErrNoMessage is returned by Last when nothing was sent.
var ErrNoMessage = errors.New("twiliotest: no message")

// Last returns the last message sent to a visitor.
func (s *Server) Last(to string) (Message, error) {
	sent := s.Sent(to)
	if len(sent) == 0 {
		return Message{}, ErrNoMessage
	}
	return sent[len(sent)-1], nil
}
