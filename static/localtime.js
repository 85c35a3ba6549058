// Shows each <time datetime="ISO"> in the reader's own time zone (the browser's), in the
// page's language, with the zone named. Without JavaScript the server's text stays: the same
// moment in the server's zone, also named. Parts that follow.js puts in later are shown the
// same way.
(() => {
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });

  function localise(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach((element) => {
      const moment = new Date(element.dateTime);
      if (Number.isNaN(moment.getTime())) return;
      element.title = element.textContent; // the server's zone, on hover
      element.textContent = format.format(moment);
      element.dataset.local = "";
    });
  }

  localise(document);
  new MutationObserver((changes) => {
    for (const change of changes) {
      change.addedNodes.forEach((node) => node.querySelectorAll && localise(node));
    }
  }).observe(document.body, { childList: true, subtree: true });
})();
