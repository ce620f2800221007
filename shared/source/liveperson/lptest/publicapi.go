package lptest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// PublicAPI is a fake Third-Party Bots Public API for one account. Like
// LivePerson it keeps one session per user (a new login ends the previous
// bearer), checks the bearer, the paths, the ttl query and the bodies
// (structured content against json-pollock's limits; private notes as the
// Public API page shows them), records every call, injects failures and
// serves command states the way the Public API page describes them: only
// for ongoing conversations of the bot (a closed conversation, or one a
// transfer took away, answers 404 to its commands and their states) and
// only for the bot's last 200 commands.
type PublicAPI struct {
	Account string
	// Username and Password are the USER_PASS bot user; APIKey, when set,
	// is accepted for API_KEY logins.
	Username, Password string
	APIKey             *APIKey
	// TransferState is what a transfer command ends in: completed (default),
	// failed or waiting (never completes). TransferWaiting is how many
	// status reads answer waiting first. A completed transfer takes the
	// conversation away from the bot (its commands then answer 404), unless
	// TransferStays (a transfer to a skill the bot itself serves).
	TransferState   string
	TransferWaiting int
	TransferStays   bool
	// TransferOutOfHistory keeps transfer commands out of the bot's
	// history, as when 200 newer commands pushed them out: their states
	// answer 404 while the conversation is still the bot's.
	TransferOutOfHistory bool
	// HistoryLimit is how many commands the bot's history keeps; default
	// 200, as LivePerson.
	HistoryLimit int

	mu         sync.Mutex
	bearer     string
	logins     int
	calls      []Call
	failures   []failure
	violations []string
	commands   map[string]*command
	history    []string // command IDs, oldest first
	nextID     int
	closed     map[string]bool
	left       map[string]bool // conversations a transfer took from the bot
}

// APIKey is the API_KEY login of a bot user.
type APIKey struct {
	Username, AppKey, Secret, AccessToken, AccessTokenSecret string
}

// Call is one request the fake received.
type Call struct {
	Method       string
	Path         string
	Command      string // login, messages, transfer, close, sdes, ttr, command
	Conversation string
	Query        url.Values
	Bearer       string
	Body         json.RawMessage
	Status       int // what the fake answered
}

type failure struct {
	command string
	status  int
	left    int
}

type command struct {
	kind  string
	conv  string
	polls int
}

// NewPublicAPI returns a fake with a USER_PASS bot user.
func NewPublicAPI(account, username, password string) *PublicAPI {
	return &PublicAPI{Account: account, Username: username, Password: password}
}

// Start serves the fake on addr ("" picks a free loopback port) and returns
// its base URL (the account's apiBaseUrl) and a stop function.
func (f *PublicAPI) Start(addr string) (baseURL string, stop func(), err error) {
	return serve(addr, f)
}

// Fail makes the next n requests of a command ("login", "messages",
// "transfer", "close", "command") answer status. A 401 also ends the
// current session, as when another login took it over.
func (f *PublicAPI) Fail(cmd string, status, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, failure{command: cmd, status: status, left: n})
}

// ExpireSession ends the current bearer (LivePerson's session timed out or
// another login replaced it).
func (f *PublicAPI) ExpireSession() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bearer = ""
}

// Calls returns the requests received so far.
func (f *PublicAPI) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// CallsOf returns the requests of one command.
func (f *PublicAPI) CallsOf(cmd string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Command == cmd {
			out = append(out, c)
		}
	}
	return out
}

// Logins counts successful logins.
func (f *PublicAPI) Logins() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

// Violations lists every request that broke the Public API's contract.
func (f *PublicAPI) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.violations...)
}

// Messages returns the messages arrays of the accepted messages commands.
func (f *PublicAPI) Messages() [][]json.RawMessage {
	var out [][]json.RawMessage
	for _, c := range f.CallsOf("messages") {
		if c.Status != http.StatusOK {
			continue
		}
		var body struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if json.Unmarshal(c.Body, &body) == nil {
			out = append(out, body.Messages)
		}
	}
	return out
}

func (f *PublicAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	defer f.mu.Unlock()
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		call.Bearer = b
	}
	status, answer := f.serve(r, &call)
	call.Status = status
	f.calls = append(f.calls, call)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if answer == nil {
		answer = map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(answer)
}

func errBody(msg string) map[string]any { return map[string]any{"error": msg} }

// violation records a contract breach and answers 400 as LivePerson would.
func (f *PublicAPI) violation(format string, args ...any) (int, any) {
	msg := fmt.Sprintf(format, args...)
	f.violations = append(f.violations, msg)
	return http.StatusBadRequest, errBody(msg)
}

func (f *PublicAPI) serve(r *http.Request, call *Call) (int, any) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/account/")
	if !ok {
		return f.violation("unknown path %s", r.URL.Path)
	}
	seg := strings.Split(rest, "/")
	if seg[0] != f.Account {
		return f.violation("path names account %q, not %q", seg[0], f.Account)
	}
	switch {
	case len(seg) == 2 && seg[1] == "login":
		call.Command = "login"
		if st, ok := f.injected("login"); ok {
			return st, errBody("injected failure")
		}
		return f.login(r, call.Body)
	case len(seg) >= 4 && seg[1] == "conversation":
		call.Conversation, call.Command = seg[2], seg[3]
	default:
		return f.violation("unknown path %s", r.URL.Path)
	}
	if call.Bearer == "" || f.bearer == "" || subtle.ConstantTimeCompare([]byte(call.Bearer), []byte(f.bearer)) != 1 {
		return http.StatusUnauthorized, errBody("invalid bearer")
	}
	if st, ok := f.injected(call.Command); ok {
		if st == http.StatusUnauthorized {
			f.bearer = ""
		}
		return st, errBody("injected failure")
	}
	if call.Command == "command" {
		switch {
		case r.Method == http.MethodGet && len(seg) == 5:
			return f.commandState(call.Conversation, seg[4])
		case r.Method == http.MethodGet && len(seg) == 4:
			return f.commandList(call.Conversation)
		}
		return f.violation("command status is GET .../conversation/{id}/command[/{commandId}]")
	}
	if r.Method != http.MethodPost || len(seg) != 4 {
		return f.violation("%s %s: commands are POST .../conversation/{id}/{command}", r.Method, r.URL.Path)
	}
	if v := call.Query.Get("ttl"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 10 || n > 120 {
			return f.violation("ttl %q: must be 10-120", v)
		}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return f.violation("Content-Type %q: must be application/json", ct)
	}
	if !f.ongoing(call.Conversation) {
		return http.StatusNotFound, errBody("conversation not found")
	}
	var problem string
	switch call.Command {
	case "messages":
		problem = checkMessages(call.Body)
	case "transfer":
		var b struct {
			Skill string `json:"skill"`
		}
		if json.Unmarshal(call.Body, &b) != nil || b.Skill == "" {
			problem = `transfer body must be {"skill": "<skill name>"}`
		}
	case "close":
		if f.closed == nil {
			f.closed = map[string]bool{}
		}
		f.closed[call.Conversation] = true
	default:
		problem = "unknown command " + call.Command
	}
	if problem != "" {
		return f.violation("%s: %s", call.Command, problem)
	}
	return http.StatusOK, map[string]any{"commandId": f.newCommand(call.Command, call.Conversation)}
}

func (f *PublicAPI) injected(cmd string) (int, bool) {
	for i := range f.failures {
		if fl := &f.failures[i]; fl.command == cmd && fl.left > 0 {
			fl.left--
			return fl.status, true
		}
	}
	return 0, false
}

func (f *PublicAPI) login(r *http.Request, body []byte) (int, any) {
	if r.Method != http.MethodPost {
		return f.violation("login is POST")
	}
	if v := r.URL.Query().Get("v"); v != "1.3" {
		return f.violation("login needs ?v=1.3, got %q", v)
	}
	var in struct {
		AuthType    string            `json:"authType"`
		Credentials map[string]string `json:"credentials"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return f.violation("login body: %v", err)
	}
	c := in.Credentials
	ok := false
	switch in.AuthType {
	case "USER_PASS":
		if len(c) != 2 || c["username"] == "" || c["password"] == "" {
			return f.violation("USER_PASS credentials are exactly username and password")
		}
		ok = f.Username != "" && eq(c["username"], f.Username) && eq(c["password"], f.Password)
	case "API_KEY":
		if len(c) != 5 {
			return f.violation("API_KEY credentials are username, appKey, secret, accessToken, accessTokenSecret")
		}
		k := f.APIKey
		ok = k != nil && eq(c["username"], k.Username) && eq(c["appKey"], k.AppKey) && eq(c["secret"], k.Secret) &&
			eq(c["accessToken"], k.AccessToken) && eq(c["accessTokenSecret"], k.AccessTokenSecret)
	default:
		return f.violation("authType %q: must be USER_PASS or API_KEY", in.AuthType)
	}
	if !ok {
		return http.StatusUnauthorized, errBody("wrong credentials")
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	f.bearer = hex.EncodeToString(b[:]) // one session per user: the old bearer ends
	f.logins++
	return http.StatusOK, map[string]any{"bearer": f.bearer}
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Transferred reports whether a transfer took conv away from the bot.
func (f *PublicAPI) Transferred(conv string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.left[conv]
}

// ongoing: the conversation is still an ongoing conversation of the bot.
func (f *PublicAPI) ongoing(conv string) bool { return !f.closed[conv] && !f.left[conv] }

func (f *PublicAPI) newCommand(kind, conv string) string {
	if f.commands == nil {
		f.commands = map[string]*command{}
	}
	f.nextID++
	id := strconv.Itoa(f.nextID)
	f.commands[id] = &command{kind: kind, conv: conv}
	if kind == "transfer" && f.TransferOutOfHistory {
		delete(f.commands, id)
		return id
	}
	f.history = append(f.history, id)
	limit := f.HistoryLimit
	if limit <= 0 {
		limit = 200
	}
	for len(f.history) > limit {
		delete(f.commands, f.history[0])
		f.history = f.history[1:]
	}
	return id
}

// advance is one read of a command's state. A transfer that completes
// takes its conversation from the bot, so the read that sees it complete
// already answers 404 (gone), as LivePerson's would.
func (f *PublicAPI) advance(id string, c *command) (state string, result any, gone bool) {
	c.polls++
	state, result = "completed", map[string]any{"executionTime": 12}
	if c.kind == "transfer" {
		switch {
		case c.polls <= f.TransferWaiting || f.TransferState == "waiting":
			return "waiting", nil, false
		case f.TransferState == "failed":
			return "failed", map[string]any{"error": map[string]any{"name": "com.liveperson.bot-connectors-worker.error.public-api.execution-failed"}}, false
		case !f.TransferStays:
			if f.left == nil {
				f.left = map[string]bool{}
			}
			f.left[c.conv] = true
			return "", nil, true
		}
	}
	return state, result, false
}

func commandJSON(id string, c *command, state string, result any) map[string]any {
	return map[string]any{"id": id, "data": map[string]any{"type": c.kind, "conversationId": c.conv}, "result": result, "state": state}
}

func (f *PublicAPI) commandState(conv, id string) (int, any) {
	c := f.commands[id]
	if c == nil || c.conv != conv || !f.ongoing(conv) {
		return http.StatusNotFound, errBody("command not found")
	}
	state, result, gone := f.advance(id, c)
	if gone {
		return http.StatusNotFound, errBody("conversation not found")
	}
	return http.StatusOK, commandJSON(id, c, state, result)
}

func (f *PublicAPI) commandList(conv string) (int, any) {
	if !f.ongoing(conv) {
		return http.StatusNotFound, errBody("conversation not found")
	}
	list := []any{}
	for i := len(f.history) - 1; i >= 0; i-- { // newest first, as in the page's example
		id := f.history[i]
		c := f.commands[id]
		if c.conv != conv {
			continue
		}
		state, result, gone := f.advance(id, c)
		if gone {
			return http.StatusNotFound, errBody("conversation not found")
		}
		list = append(list, commandJSON(id, c, state, result))
	}
	return http.StatusOK, list
}
