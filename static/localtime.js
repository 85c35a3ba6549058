// Shows each <time datetime="ISO"> in the reader's own time zone (the browser's), in the
// page's language, with the zone named. Without JavaScript the server's text stays: the same
// moment in the server's zone, also named. Parts that follow.js puts in or changes later are
// shown the same way.
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

  const UNSEEN = "time[datetime]:not([data-local])";

  function localise(root) {
    const times = [...root.querySelectorAll(UNSEEN)];
    if (root.matches?.(UNSEEN)) times.push(root);
    times.forEach((element) => {
      const moment = new Date(element.dateTime);
      if (Number.isNaN(moment.getTime())) return;
      element.title = element.textContent; // the server's zone, on hover
      element.textContent = format.format(moment);
      element.dataset.local = "";
    });
  }

  localise(document);
  new MutationObserver((changes) => {
    // A part put in, or a <time> whose words follow.js changed back to the server's.
    for (const { target } of changes) localise(target.nodeType === Node.ELEMENT_NODE ? target : target.parentElement);
  }).observe(document.body, { childList: true, characterData: true, subtree: true });
})();
