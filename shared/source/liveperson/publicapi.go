package liveperson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
)

// The Third-Party Bots Public API, logged in as the account's dedicated bot
// user. LivePerson keeps one session per user, so a new login may end the
// previous bearer: every caller in this execution environment shares one
// bearer per account, logs in only when it has none (one login at a time,
// the others wait for it), and logs in again once on a 401.

// sessions holds the bearer of each account.
type sessions struct {
	mu        sync.Mutex
	byAccount map[string]*session
}

type session struct {
	mu          sync.Mutex
	bearer      string
	fingerprint [32]byte // of the credentials the bearer was issued for
	base        string
	login       chan struct{} // a one-slot lock: held while logging in
}

func (s *sessions) get(account string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byAccount[account]
	if ss == nil {
		ss = &session{login: make(chan struct{}, 1)}
		s.byAccount[account] = ss
	}
	return ss
}

// apiClient is one account's Public API, for one call.
type apiClient struct {
	hc      *egress.Client
	account string
	st      *settings
	cr      *creds
	sess    *session
}

// errMisconfigured marks settings or credentials that cannot work; retrying
// will not help.
var errMisconfigured = errors.New("account misconfigured")

func (a *Adapter) api(acct *source.Account) (*apiClient, error) {
	a.init()
	st, err := settingsOf(acct)
	if err != nil {
		return nil, fmt.Errorf("%w: settings: %w", errMisconfigured, err)
	}
	cr, err := parsedCredentials.Of(acct)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMisconfigured, err)
	}
	return &apiClient{hc: a.HTTP, account: acct.Account, st: st, cr: cr, sess: a.sessions.get(acct.Account)}, nil
}

// current returns the cached bearer, dropping it when the credentials or
// the domain changed since it was issued.
func (c *apiClient) current() string {
	c.sess.mu.Lock()
	defer c.sess.mu.Unlock()
	if c.sess.fingerprint != c.cr.fingerprint || c.sess.base != c.st.baseURL {
		c.sess.bearer, c.sess.fingerprint, c.sess.base = "", c.cr.fingerprint, c.st.baseURL
	}
	return c.sess.bearer
}

// bearer returns a bearer, logging in when there is none. Concurrent callers
// wait for one login instead of racing each other out of the session.
func (c *apiClient) bearer(ctx context.Context) (string, error) {
	if b := c.current(); b != "" {
		return b, nil
	}
	select {
	case c.sess.login <- struct{}{}:
	case <-ctx.Done():
		return "", retry.Retryable(fmt.Errorf("waiting for the LivePerson login: %w", ctx.Err()), 0)
	}
	defer func() { <-c.sess.login }()
	if b := c.current(); b != "" {
		return b, nil // logged in while we waited
	}
	b, err := c.login(ctx)
	if err != nil {
		return "", err
	}
	c.sess.mu.Lock()
	c.sess.bearer = b
	c.sess.mu.Unlock()
	return b, nil
}

// drop forgets a bearer that LivePerson refused, unless another caller has
// already replaced it.
func (c *apiClient) drop(used string) {
	c.sess.mu.Lock()
	defer c.sess.mu.Unlock()
	if c.sess.bearer == used {
		c.sess.bearer = ""
	}
}

// loginBody is the Public API login request.
func (c *creds) loginBody() any {
	type userPass struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	type apiKey struct {
		Username          string `json:"username"`
		AppKey            string `json:"appKey"`
		Secret            string `json:"secret"`
		AccessToken       string `json:"accessToken"`
		AccessTokenSecret string `json:"accessTokenSecret"`
	}
	var cr any = userPass{c.Username, c.Password}
	if c.AuthType == AuthAPIKey {
		cr = apiKey{c.Username, c.AppKey, c.Secret, c.AccessToken, c.AccessTokenSecret}
	}
	return map[string]any{"authType": c.AuthType, "credentials": cr}
}

func (c *apiClient) login(ctx context.Context) (string, error) {
	u := c.st.baseURL + "/api/v1/account/" + url.PathEscape(c.account) + "/login?v=1.3"
	body, err := c.send(ctx, "login", http.MethodPost, u, "", c.cr.loginBody())
	var he *egress.StatusError
	if errors.As(err, &he) && he.Status == http.StatusConflict {
		he.Reason = "the bot user is already used by a bot running on Third-Party Bots; use a dedicated Public API user"
	}
	if err != nil {
		return "", err
	}
	var out struct {
		Bearer string `json:"bearer"`
	}
	if json.Unmarshal(body, &out) != nil || out.Bearer == "" {
		return "", &egress.StatusError{Op: "liveperson login", Status: http.StatusOK, Reason: "the answer has no bearer"}
	}
	return out.Bearer, nil
}

// call sends one authenticated request and returns the body of a 2xx. A 401
// drops the bearer and retries once with a new login; after that it is
// final. 429, 5xx and transport failures are marked retryable (by egress)
// for the caller's retry policy.
func (c *apiClient) call(ctx context.Context, op, method, path string, payload any) ([]byte, error) {
	u := c.st.baseURL + "/api/v1/account/" + url.PathEscape(c.account) + path
	for attempt := 0; ; attempt++ {
		b, err := c.bearer(ctx)
		if err != nil {
			return nil, err
		}
		body, err := c.send(ctx, op, method, u, b, payload)
		var he *egress.StatusError
		if errors.As(err, &he) && he.Status == http.StatusUnauthorized && attempt == 0 {
			c.drop(b)
			continue
		}
		return body, err
	}
}

const respLimit = 64 << 10

func (c *apiClient) send(ctx context.Context, op, method, u, bearer string, payload any) ([]byte, error) {
	h := http.Header{"Accept": {"application/json"}}
	var body []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("liveperson %s: encode request: %w", op, err)
		}
		body = b
		h.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.hc.Do(ctx, &egress.Request{Op: "liveperson " + op, Method: method, URL: u, Header: h, Body: body, MaxBody: respLimit})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *apiClient) convPath(conv, cmd string) string {
	return "/conversation/" + url.PathEscape(conv) + "/" + cmd
}

func (c *apiClient) ttl() string { return "?ttl=" + strconv.Itoa(c.st.CommandTTLSeconds) }

// command sends a conversation command and returns LivePerson's commandId
// ("" when the answer carries none).
func (c *apiClient) command(ctx context.Context, conv, cmd string, payload any) (string, error) {
	body, err := c.call(ctx, cmd, http.MethodPost, c.convPath(conv, cmd)+c.ttl(), payload)
	if err != nil {
		return "", err
	}
	var out struct {
		CommandID json.RawMessage `json:"commandId"`
	}
	_ = json.Unmarshal(body, &out)
	return scalar(out.CommandID), nil
}

// Command states of the Public API.
const (
	CommandWaiting   = "waiting"
	CommandFailed    = "failed"
	CommandCompleted = "completed"
)

// commandAnswer is a command as the Public API shows it (its state, and
// the error of a failed one).
type commandAnswer struct {
	ID     json.RawMessage `json:"id"`
	State  string          `json:"state"`
	Result struct {
		Error struct {
			Name string `json:"name"`
		} `json:"error"`
	} `json:"result"`
}

// commandState reads one command's state; found is false on a 404: the
// conversation is no longer the bot's (closed, or transferred away), or the
// command dropped from the bot's 200-command history (see
// Adapter.await).
func (c *apiClient) commandState(ctx context.Context, conv, id string) (state, failure string, found bool, err error) {
	body, err := c.call(ctx, "command", http.MethodGet, c.convPath(conv, "command/"+url.PathEscape(id)), nil)
	var he *egress.StatusError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	var out commandAnswer
	if json.Unmarshal(body, &out) != nil {
		return "", "", false, &egress.StatusError{Op: "liveperson command", Status: http.StatusOK, Reason: "the answer is not a command"}
	}
	return out.State, out.Result.Error.Name, true, nil
}

// listedState reads a command from the conversation's command list.
// ongoing is false when LivePerson answers 404: the conversation is no
// longer an ongoing conversation of the bot.
func (c *apiClient) listedState(ctx context.Context, conv, id string) (ongoing bool, state, failure string, found bool, err error) {
	body, err := c.call(ctx, "command", http.MethodGet, c.convPath(conv, "command"), nil)
	var he *egress.StatusError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return false, "", "", false, nil
	}
	if err != nil {
		return false, "", "", false, err
	}
	var list []commandAnswer
	if json.Unmarshal(body, &list) != nil {
		return false, "", "", false, &egress.StatusError{Op: "liveperson command", Status: http.StatusOK, Reason: "the answer is not a list of commands"}
	}
	for _, cmd := range list {
		if scalar(cmd.ID) == id {
			return true, cmd.State, cmd.Result.Error.Name, true, nil
		}
	}
	return true, "", "", false, nil
}
