// The periodic task form (ops/admin.py): the chosen crontab in words under the crontab
// field's help, as django-celery-beat's page does with an inline script, which the site's
// Content-Security-Policy refuses. Its read-only "crontab translation" row is hidden.
(() => {
  const readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  // Rendered in the reader's language by the template (ops/periodic_task_form.html).
  const label = JSON.parse(document.getElementById("crontab-in-words-label").textContent);
  const select = document.getElementById("id_crontab");
  const help = document.querySelector(".field-crontab .help");
  const translation = document.querySelector(".field-crontab_translation");
  if (translation) translation.style.display = "none";
  if (!select || !help) return;
  const words = document.createElement("div");
  words.className = "crontab-in-words";
  help.append(words);
  const show = () => {
    const text = readable[select.value];
    words.textContent = text ? `${label} ${text}` : "";
  };
  select.addEventListener("change", show);
  show();
})();
