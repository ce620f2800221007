package ultimatetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// runAction handles "action <name> [key=value ...]": it calls the action
// webhook with each pair as a single-element value, stores the results as
// session parameters and reports them, sanitized values masked. (saveAs is
// never sent: renaming results is for our side to honour when it is.)
func (t *turn) runAction(args string) {
	fields := strings.Fields(args)
	if len(fields) == 0 {
		t.say(textMessage(ActionUsageText))
		return
	}
	name := fields[0]
	params := make([]ultimate.ActionParam, 0, len(fields)-1)
	for _, kv := range fields[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			t.say(textMessage(ActionUsageText))
			return
		}
		params = append(params, ultimate.ActionParam{Key: k, Value: []string{v}})
	}
	d := t.action(ultimate.ActionRequest{
		BotID: t.agent.ID, ConversationID: t.sess.id, PlatformConversationID: t.pcid(),
		Name: name, Data: params,
	})
	results, err := parseActionResults(d)
	if err != nil {
		t.s.log.Info("action answer rejected", "pcid", t.pcid(), "action", name, "reason", err.Error())
		t.say(textMessage(fmt.Sprintf("Action %s failed (%s).", name, failure(d))))
		return
	}
	if len(results) == 0 {
		t.say(textMessage(fmt.Sprintf("Action %s returned nothing.", name)))
		return
	}
	shown := make([]string, 0, len(results))
	t.s.mu.Lock()
	for _, r := range results {
		p := Param{Value: r.Value, Sanitize: r.Sanitize}
		t.sess.params[r.Key] = p
		shown = append(shown, r.Key+"="+p.String())
	}
	t.s.mu.Unlock()
	t.say(textMessage(fmt.Sprintf("Action %s returned: %s", name, strings.Join(shown, ", "))))
}

// failure names why a webhook did not produce a usable answer, for the
// bot's reply: the status code, "no answer" or "invalid answer".
func failure(d Delivery) string {
	switch {
	case d.Err != nil:
		return "no answer"
	case !d.OK():
		return strconv.Itoa(d.Status)
	default:
		return "invalid answer"
	}
}

// parseActionResults reads {"results":[{key, value, sanitize?}]}. Results
// are optional, so an empty body or {} is no results. Values must be
// strings, as the swagger documents (the DTO's "any" is not the contract),
// key and value not empty (the DTO's IsNotEmpty), and sanitize a boolean
// (the DTO's string is a known bug).
func parseActionResults(d Delivery) ([]ultimate.MetaItem, error) {
	if !d.OK() {
		return nil, errors.New("not a 2xx answer")
	}
	if strings.TrimSpace(string(d.Response)) == "" {
		return nil, nil
	}
	o, err := parseObject(d.Response, "answer")
	if err != nil {
		return nil, err
	}
	if err := o.only("", "results"); err != nil {
		return nil, err
	}
	if !o.has("results") {
		return nil, nil
	}
	// decodeMeta applies exactly the rules results need: a key, a string
	// value, an optional boolean sanitize, nothing else.
	results, err := decodeMeta("results", o["results"])
	if err != nil {
		return nil, err
	}
	for i, r := range results {
		if r.Value == "" {
			return nil, badf("results[%d].value must not be empty", i)
		}
	}
	return results, nil
}

// parseTeamStatus reads {"isOnline": bool} from a 2xx answer, strictly.
func parseTeamStatus(d Delivery) (bool, error) {
	if !d.OK() {
		return false, fmt.Errorf("not a 2xx answer (%s)", failure(d))
	}
	o, err := parseObject(d.Response, "answer")
	if err != nil {
		return false, err
	}
	if err := o.only("", "isOnline"); err != nil {
		return false, err
	}
	var online bool
	if !o.has("isOnline") || json.Unmarshal(o["isOnline"], &online) != nil {
		return false, errors.New("isOnline must be a boolean")
	}
	return online, nil
}
