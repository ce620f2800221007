package cdp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/cdp"
)

const page = `<!doctype html><title>t</title>
<input id="in"><button id="go">Go</button><p id="out"></p>
<script>
document.getElementById("go").addEventListener("click", () => {
  // The answer comes later, as a server's would.
  setTimeout(() => { document.getElementById("out").textContent = "got " + document.getElementById("in").value; }, 50);
});
document.getElementById("in").addEventListener("keydown", e => { if (e.key === "Enter") document.getElementById("out").textContent = "enter"; });
</script>`

// TestBrowser drives a real Chromium: navigate, type, click, wait for the
// DOM, screenshot, and report page errors.
func TestBrowser(t *testing.T) {
	path, err := cdp.Find()
	if err != nil {
		t.Skipf("no Chromium here (%v); make test installs Debian's chromium package", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<script>console.error("boom", 7); undefinedFunction();</script>`))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(page))
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := cdp.Launch(ctx, cdp.Options{Path: path, UserDataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.NewPage(ctx, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := p.Click(ctx, `document.getElementById("in")`); err != nil {
		t.Fatal(err)
	}
	if err := p.Type(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := p.Click(ctx, `document.getElementById("go")`); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := p.WaitFor(ctx, `document.getElementById("out").textContent.startsWith("got") && document.getElementById("out").textContent`, &got); err != nil {
		t.Fatal(err)
	}
	if got != "got hello" {
		t.Errorf("page shows %q, want %q", got, "got hello")
	}
	if err := p.Click(ctx, `document.getElementById("in")`); err != nil {
		t.Fatal(err)
	}
	if err := p.PressEnter(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `document.getElementById("out").textContent === "enter"`, nil); err != nil {
		t.Fatal(err)
	}

	// A wait that cannot succeed fails within its bound, naming the page.
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	err = p.WaitFor(short, `document.title === "never"`, nil)
	cancelShort()
	if err == nil || !strings.Contains(err.Error(), "not reached") {
		t.Errorf("impossible wait: %v", err)
	}
	if err := p.Eval(ctx, `(() => { throw new Error("thrown on purpose"); })()`, nil); err == nil || !strings.Contains(err.Error(), "thrown on purpose") {
		t.Errorf("eval exception: %v", err)
	}

	png, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 {
		t.Errorf("screenshot of %d bytes", len(png))
	}
	if errs := p.Errors(); len(errs) != 0 {
		t.Errorf("page errors on a clean page: %v", errs)
	}

	// Errors of a broken page are collected: subscribe to the console
	// first, so the wait ends at the page's own error, not a timer.
	console := p.Subscribe("Runtime.exceptionThrown")
	defer console.Cancel()
	if err := p.Navigate(ctx, srv.URL+"/broken"); err != nil {
		t.Fatal(err)
	}
	if _, err := console.Next(ctx); err != nil {
		t.Fatal(err)
	}
	errs := strings.Join(p.Errors(), "\n")
	for _, want := range []string{"console.error: boom 7", "undefinedFunction"} {
		if !strings.Contains(errs, want) {
			t.Errorf("page errors %q lack %q", errs, want)
		}
	}
}
