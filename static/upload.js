// The upload form, enhanced (without JavaScript it is a plain form POST, which works too).
// Chosen or dropped files are listed with a preview, name and size, each removable, and
// checked here against the server's own limits (count, bytes, type) so that a file too big
// or one too many never crosses the network; the server stays the judge. Sending shows the
// bytes sent; a refusal from the server is shown next to each file it names, the good files
// stay chosen, and the error summary at the top (partials/error_summary.html) takes the focus
// while the title starts with "Error:". A status line says, once per change, how many files
// are chosen and how many cannot be sent; removing a file moves the focus to the next one's
// Remove button (or the file chooser). Its words come from Django's JavaScript catalogue
// (jsi18n/, loaded before this file), in the page's language.
(() => {
  const form = document.querySelector("form[data-upload]");
  if (!form || !window.DataTransfer || !window.FormData) return;
  const input = form.querySelector("input[type=file]");
  const zone = form.querySelector(".dropzone-area");
  const list = form.querySelector(".chosen-files");
  const summary = form.querySelector(".error-summary");
  const status = form.querySelector(".chosen-count");
  const title = document.title;
  const progress = form.querySelector(".upload-progress");
  const button = form.querySelector("button[type=submit]");
  const maxFiles = Number(form.dataset.maxFiles);
  const maxBytes = Number(form.dataset.maxBytes);
  const accepted = input.accept.split(",");
  let chosen = []; // {file, error, url}
  const say = (text, values) => interpolate(text, values, true); // text: gettext(...)
  const language = document.documentElement.lang || undefined;
  const kilobytes = new Intl.NumberFormat(language, { style: "unit", unit: "kilobyte", maximumFractionDigits: 0 });
  const mega = new Intl.NumberFormat(language, { style: "unit", unit: "megabyte", minimumFractionDigits: 1, maximumFractionDigits: 1 });

  const megabytes = (bytes) =>
    bytes < 1024 * 1024 ? kilobytes.format(Math.ceil(bytes / 1024)) : mega.format(bytes / 1024 / 1024);

  function problem(file, index) {
    const extension = "." + file.name.split(".").pop().toLowerCase();
    if (!accepted.includes(file.type) && !accepted.includes(extension)) {
      return `“${file.name}”: ${input.dataset.notAnImage}`;
    }
    if (file.size === 0) return say(gettext("“%(name)s” is empty."), { name: file.name });
    if (file.size > maxBytes) {
      return say(gettext("“%(name)s” is %(size)s; each file may be at most %(limit)s."), {
        name: file.name,
        size: megabytes(file.size),
        limit: megabytes(maxBytes),
      });
    }
    if (index >= maxFiles) {
      const tooMany = ngettext(
        "“%(name)s” is one too many: at most %(count)s file at once.",
        "“%(name)s” is one too many: at most %(count)s files at once.",
        maxFiles,
      );
      return say(tooMany, { name: file.name, count: maxFiles.toLocaleString(language) });
    }
    return null;
  }

  function add(files) {
    for (const file of files) {
      if (!chosen.some((c) => c.file.name === file.name && c.file.size === file.size)) {
        chosen.push({ file, url: URL.createObjectURL(file) });
      }
    }
    check();
  }

  function check() {
    chosen.forEach((entry, index) => (entry.error = problem(entry.file, index)));
    render();
  }

  function render() {
    list.replaceChildren(
      ...chosen.map((entry) => {
        const item = document.createElement("li");
        const preview = document.createElement("img");
        preview.src = entry.url;
        preview.alt = "";
        preview.onerror = () => preview.remove(); // formats the browser cannot show
        const name = document.createElement("span");
        name.textContent = `${entry.file.name} · ${megabytes(entry.file.size)}`;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "outline secondary";
        remove.textContent = gettext("Remove");
        remove.setAttribute("aria-label", say(gettext("Remove %(name)s"), { name: entry.file.name }));
        remove.onclick = () => {
          const index = chosen.indexOf(entry);
          URL.revokeObjectURL(entry.url);
          chosen = chosen.filter((other) => other !== entry);
          check();
          const left = list.querySelectorAll("li > button");
          (left[Math.min(index, left.length - 1)] || input).focus();
        };
        item.append(preview, name, remove);
        if (entry.error) {
          const error = document.createElement("p");
          error.className = "field-errors";
          error.textContent = entry.error;
          item.append(error);
          item.setAttribute("aria-invalid", "true");
        }
        return item;
      }),
    );
    // The chooser counts what the list shows, refused files too; sending is this script's
    // (the submit handler), which sends none while one is refused.
    const transfer = new DataTransfer();
    chosen.forEach((entry) => transfer.items.add(entry.file));
    input.files = transfer.files;
    const refused = chosen.filter((entry) => entry.error).length;
    let words = say(ngettext("%(count)s file chosen.", "%(count)s files chosen.", chosen.length), {
      count: chosen.length.toLocaleString(language),
    });
    if (refused) {
      const cannot = ngettext(
        "%(count)s file cannot be sent: remove or replace it.",
        "%(count)s files cannot be sent: remove or replace them.",
        refused,
      );
      words += " " + say(cannot, { count: refused.toLocaleString(language) });
    }
    announce(words);
  }

  function announce(words) {
    if (status.textContent !== words) status.textContent = words; // said once, not again
  }

  function tell(messages, heading = gettext("There is a problem")) {
    const items = messages.map((text) => Object.assign(document.createElement("li"), { textContent: text }));
    const errors = document.createElement("ul");
    errors.append(...items);
    const heard = [Object.assign(document.createElement("h2"), { textContent: heading }), errors];
    summary.replaceChildren(...(messages.length ? heard : []));
    summary.hidden = messages.length === 0;
    document.title = messages.length ? say(gettext("Error: %(page)s"), { page: title }) : title;
    if (messages.length) summary.focus();
  }

  function busy(yes) {
    button.disabled = yes;
    button.setAttribute("aria-busy", String(yes));
    progress.hidden = !yes;
    const total = chosen.reduce((sum, entry) => sum + entry.file.size, 0);
    progress.querySelector("progress").value = 0;
    progress.querySelector("span").textContent = say(gettext("Sending: %(sent)s of %(total)s"), {
      sent: megabytes(0),
      total: megabytes(total),
    });
  }

  input.addEventListener("change", () => add(input.files));
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("drag-over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("drag-over"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    add(event.dataTransfer.files);
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const errors = chosen.filter((entry) => entry.error).map((entry) => entry.error);
    if (!chosen.length) errors.push(gettext("Choose at least one image."));
    if (errors.length) return tell(errors, gettext("Remove or replace these files first:"));
    tell([]);
    const data = new FormData(form);
    data.delete(input.name);
    chosen.forEach((entry) => data.append(input.name, entry.file));
    const request = new XMLHttpRequest();
    request.open("POST", form.action || window.location.href);
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (sent) => {
      if (!sent.lengthComputable) return;
      progress.querySelector("progress").value = Math.round((100 * sent.loaded) / sent.total);
      progress.querySelector("span").textContent = say(gettext("Sending: %(sent)s of %(total)s"), {
        sent: megabytes(sent.loaded),
        total: megabytes(sent.total),
      });
    };
    request.onload = () => {
      if (request.status === 200 && request.responseURL.includes("/jobs/")) {
        window.location.assign(request.responseURL); // the job's page, after the redirect
        return;
      }
      busy(false);
      refused(request);
    };
    request.onerror = () => {
      busy(false);
      tell([gettext("The upload did not reach the server. Check the connection and send again.")]);
    };
    busy(true);
    announce(progress.querySelector("span").textContent);
    request.send(data);
  });

  function refused(request) {
    let fields = {};
    try {
      fields = JSON.parse(request.responseText).errors || {};
    } catch {
      return tell([request.responseText || say(gettext("The server refused the upload (%(status)s)."), { status: request.status })]);
    }
    const messages = [];
    for (const [field, errors] of Object.entries(fields)) {
      for (const { message } of errors) {
        const entry = field === input.name && chosen.find((c) => message.startsWith(`“${c.file.name}”`));
        if (entry) entry.error = message;
        messages.push(message);
      }
    }
    render();
    tell(messages);
  }
})();
