package cdp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Page is one tab, attached with its own protocol session.
type Page struct {
	b       *Browser
	session string

	mu     sync.Mutex
	errors []string // uncaught exceptions and console errors, for the test to report
	stop   func()
}

// NewPage opens a blank tab of width × height CSS pixels.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: att.SessionID}
	// Recorded in the read loop itself, so an error event that a test saw
	// on its own subscription is already in Errors.
	exc := b.on(p.session, "Runtime.exceptionThrown", p.exception)
	con := b.on(p.session, "Runtime.consoleAPICalled", p.console)
	p.stop = sync.OnceFunc(func() { exc.Cancel(); con.Cancel() })
	for _, m := range []string{"Page.enable", "Runtime.enable"} {
		if err := p.Call(ctx, m, nil, nil); err != nil {
			return nil, err
		}
	}
	if err := p.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
	}, nil); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Page) exception(raw json.RawMessage) {
	var e struct {
		ExceptionDetails struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	_ = json.Unmarshal(raw, &e)
	p.note("exception: " + strings.TrimSpace(e.ExceptionDetails.Text+" "+e.ExceptionDetails.Exception.Description))
}

func (p *Page) console(raw json.RawMessage) {
	var c struct {
		Type string `json:"type"`
		Args []struct {
			Value       any    `json:"value"`
			Description string `json:"description"`
		} `json:"args"`
	}
	_ = json.Unmarshal(raw, &c)
	if c.Type != "error" && c.Type != "assert" {
		return
	}
	parts := make([]string, 0, len(c.Args))
	for _, a := range c.Args {
		if a.Value != nil {
			parts = append(parts, fmt.Sprint(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	p.note("console." + c.Type + ": " + strings.Join(parts, " "))
}

func (p *Page) note(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errors) < 100 {
		p.errors = append(p.errors, s)
	}
}

// Errors returns the page's uncaught exceptions and console errors so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// Close stops collecting the page's errors (the browser's Close ends the tab).
func (p *Page) Close() { p.stop() }

// Call sends a command in the page's session.
func (p *Page) Call(ctx context.Context, method string, params, out any) error {
	return p.b.call(ctx, p.session, method, params, out)
}

// Subscribe receives the page's events of one method from now on.
func (p *Page) Subscribe(method string) *Subscription { return p.b.subscribe(p.session, method) }

// Navigate loads url and returns at its load event.
func (p *Page) Navigate(ctx context.Context, url string) error {
	load := p.Subscribe("Page.loadEventFired")
	defer load.Cancel()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.Call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, nav.ErrorText)
	}
	_, err := load.Next(ctx)
	return err
}

// Eval runs a JavaScript expression in the page (awaiting a promise) and
// decodes its value into out (nil: ignore it). An exception is an error
// carrying its message.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.Call(ctx, "Runtime.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true, "userGesture": true,
	}, &r); err != nil {
		return err
	}
	if d := r.ExceptionDetails; d != nil {
		msg := d.Exception.Description
		if msg == "" {
			msg = d.Text
		}
		return fmt.Errorf("javascript: %s", msg)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// WaitFor waits until the JavaScript expression cond is truthy and decodes
// its value into out. The page re-evaluates cond on every DOM mutation (a
// MutationObserver), so the wait ends at the change itself; ctx's deadline
// (default 20 s) only bounds a failure, reported with what is on the page.
func (p *Page) WaitFor(ctx context.Context, cond string, out any) error {
	limit := 20 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		limit = time.Until(dl) - 500*time.Millisecond
	}
	if limit <= 0 {
		return fmt.Errorf("wait for %s: %w", cond, context.DeadlineExceeded)
	}
	js := fmt.Sprintf(`new Promise((resolve, reject) => {
  const cond = () => { try { return (%s); } catch (e) { return undefined; } };
  const first = cond();
  if (first) { resolve(first); return; }
  const obs = new MutationObserver(() => { const v = cond(); if (v) { obs.disconnect(); clearTimeout(t); resolve(v); } });
  obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  const t = setTimeout(() => { obs.disconnect(); reject(new Error("not reached within %dms; page text: " + (document.body ? document.body.innerText.slice(0, 1500) : ""))); }, %d);
})`, cond, limit.Milliseconds(), limit.Milliseconds())
	if err := p.Eval(ctx, js, out); err != nil {
		return fmt.Errorf("wait for %s: %w", cond, err)
	}
	return nil
}

// Click scrolls the element that the JavaScript expression el evaluates to
// into view and clicks its centre with real mouse events.
func (p *Page) Click(ctx context.Context, el string) error {
	var box struct{ X, Y float64 }
	err := p.Eval(ctx, fmt.Sprintf(`(() => {
  const el = (%s);
  if (!el) throw new Error("no element to click");
  el.scrollIntoView({block: "center", inline: "center"});
  const r = el.getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2};
})()`, el), &box)
	if err != nil {
		return fmt.Errorf("click %s: %w", el, err)
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		ev := map[string]any{"type": typ, "x": box.X, "y": box.Y}
		if typ != "mouseMoved" {
			ev["button"], ev["clickCount"] = "left", 1
		}
		if err := p.Call(ctx, "Input.dispatchMouseEvent", ev, nil); err != nil {
			return fmt.Errorf("click %s: %w", el, err)
		}
	}
	return nil
}

// Type inserts text into the focused element, as an IME would.
func (p *Page) Type(ctx context.Context, text string) error {
	return p.Call(ctx, "Input.insertText", map[string]any{"text": text}, nil)
}

// PressEnter sends an Enter key press to the focused element.
func (p *Page) PressEnter(ctx context.Context) error {
	for _, typ := range []string{"keyDown", "keyUp"} {
		ev := map[string]any{"type": typ, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
		if typ == "keyDown" {
			ev["text"] = "\r"
		}
		if err := p.Call(ctx, "Input.dispatchKeyEvent", ev, nil); err != nil {
			return err
		}
	}
	return nil
}

// Screenshot returns a PNG of the viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		return nil, errors.New("screenshot: not a PNG")
	}
	return png, nil
}
