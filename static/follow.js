// Keeps the live parts of a page (a job's state, a user batch) up to date without hammering
// the server. An element with data-follow="<url>" and data-seen="<state>" asks
// <url>?seen=<state> for its replacement; the server answers 204 while nothing has changed.
// It asks 100 ms after the page was requested (at once if loading it took longer) and 100 ms
// after each change, and waits 1.2x longer after each unchanged answer, up to 1 s. A hidden
// tab does not ask until it is shown again. A replacement without data-follow is final, and
// removes the messages that were true only until then (data-true-until="<its id>"). An answer
// with `X-Refresh: <id>` also has the page's element of that id loaded afresh (the users list
// once a batch ends). Without JavaScript, such pages refresh themselves (base.html).
(() => {
  const FIRST = 100;
  const LONGEST = 1000;
  const GROWTH = 1.2;

  function follow(element, wait) {
    setTimeout(() => ask(element, wait), wait);
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
        const template = document.createElement("template");
        template.innerHTML = (await response.text()).trim();
        const replacement = template.content.firstElementChild;
        element.replaceWith(replacement);
        const stale = response.headers.get("X-Refresh");
        if (stale) refresh(stale);
        if (replacement.dataset.follow) follow(replacement, FIRST);
        else if (replacement.id) {
          document.querySelectorAll(`[data-true-until="${replacement.id}"]`).forEach((m) => m.remove());
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
      if (response.ok && fresh) document.getElementById(id)?.replaceWith(fresh);
    } catch {
      // The next visit shows it; the page is only a little behind meanwhile.
    }
  }

  const sincePageRequested = performance.now();
  document
    .querySelectorAll("[data-follow]")
    .forEach((element) => follow(element, Math.max(0, FIRST - sincePageRequested)));
})();
