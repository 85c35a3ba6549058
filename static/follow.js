// Keeps the live parts of a page (a job's state, a user batch) up to date without hammering
// the server. An element with data-follow="<url>" and data-seen="<state>" asks
// <url>?seen=<state> for its new version; the server answers 204 while nothing has changed.
// It asks 100 ms after the page was requested (at once if loading it took longer) and 100 ms
// after each change, and waits 1.2x longer after each unchanged answer, up to 1 s. A hidden
// tab does not ask until it is shown again. A version without data-follow is final, and
// removes the messages that were true only until then (data-true-until="<its id>"). An answer
// with `X-Refresh: <id>` also has the page's element of that id loaded afresh (the users list
// once a batch ends). Without JavaScript, such pages refresh themselves (base.html).
//
// A new version is morphed into the page (idiomorph, static/vendor/): only the text and
// attributes that changed are changed, so a control someone is on (Cancel, a link, the search
// box) stays the same element and keeps the focus, and the part's status region
// (role="status") is announced only when its words change. A control that goes away (Cancel,
// once the job is over) hands the focus to the part's first control, or to its status.
(() => {
  const FIRST = 100;
  const LONGEST = 1000;
  const GROWTH = 1.2;

  function follow(element, wait) {
    setTimeout(() => ask(element, wait), wait);
  }

  function update(element, html) {
    const hadFocus = element.contains(document.activeElement);
    Idiomorph.morph(element, html, { ignoreActiveValue: true });
    if (hadFocus && !element.contains(document.activeElement)) {
      (element.querySelector("a[href], button") || element.querySelector("[role=status]"))?.focus();
    }
  }

  async function ask(element, waited) {
    if (document.hidden) {
      document.addEventListener("visibilitychange", () => ask(element, FIRST), { once: true });
      return;
    }
    const url = new URL(element.dataset.follow, window.location.href);
    url.searchParams.set("seen", element.dataset.seen);
    let next = Math.min(Math.max(waited, FIRST) * GROWTH, LONGEST);
    try {
      const response = await fetch(url, { headers: { Accept: "text/html" } });
      if (response.status === 200) {
        update(element, (await response.text()).trim());
        const stale = response.headers.get("X-Refresh");
        if (stale) refresh(stale);
        if (element.dataset.follow) follow(element, FIRST);
        else if (element.id) {
          document.querySelectorAll(`[data-true-until="${element.id}"]`).forEach((m) => m.remove());
        }
        return;
      }
      if (response.status >= 400 && response.status < 500) return; // gone, or not ours
      if (response.status !== 204) next = LONGEST;
    } catch {
      next = LONGEST; // the server or the network had a hiccup: try again a little later
    }
    follow(element, next);
  }

  async function refresh(id) {
    try {
      const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById(id);
      const element = document.getElementById(id);
      if (response.ok && fresh && element) update(element, fresh.outerHTML);
    } catch {
      // The next visit shows it; the page is only a little behind meanwhile.
    }
  }

  const sincePageRequested = performance.now();
  document
    .querySelectorAll("[data-follow]")
    .forEach((element) => follow(element, Math.max(0, FIRST - sincePageRequested)));
})();
