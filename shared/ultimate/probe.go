package ultimate

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/egress"
)

// Probe checks an agent's base URL, bot ID and API key with a call that
// changes nothing: one Chat API request with an empty JSON body, which no
// session can come of. The API checks the botid header and the key before
// the body (the gateway's 401 comes first; ultimatetest keeps that order),
// so a 400 means both were accepted. The errors are Chat's: ErrUnauthorized
// (the key), ErrBotNotFound (the bot ID at that base URL), ErrUnavailable
// (not reachable, 429, 5xx).
func (c *Client) Probe(ctx context.Context, t Target) error {
	key, err := c.Keys.APIKey(ctx, t.AgentID)
	if err != nil {
		return fmt.Errorf("API key for agent %s: %w", t.AgentID, err)
	}
	err = c.once(ctx, "/converse/chat", c.baseURL(t)+"/converse/chat", t.AgentID, key, []byte("{}"))
	var se *egress.StatusError
	if err == nil || (errors.Is(err, ErrBadRequest) && errors.As(err, &se) && se.Status == http.StatusBadRequest) {
		return nil
	}
	return err
}
