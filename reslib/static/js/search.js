// The header search box: title suggestions as you type (Chinese, Latin or pinyin), in an ARIA listbox.
// Without JavaScript the box still submits to the search page.
document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("site-search-q");
  const list = document.getElementById("site-search-list");
  if (!input || !list) return;
  const DELAY_MS = 150;
  let timer = null;
  let request = null;
  let active = -1;

  const options = () => Array.from(list.children);

  function close() {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function choose(title) {
    input.value = title;
    close();
    input.form.requestSubmit();
  }

  function show(titles) {
    list.replaceChildren(...titles.map((title, i) => {
      const option = document.createElement("li");
      option.id = `site-search-option-${i}`;
      option.setAttribute("role", "option");
      option.textContent = title;
      // mousedown, not click: it comes before the input loses focus
      option.addEventListener("mousedown", (event) => { event.preventDefault(); choose(title); });
      return option;
    }));
    list.hidden = titles.length === 0;
    input.setAttribute("aria-expanded", String(titles.length > 0));
    active = -1;
  }

  function move(step) {
    const all = options();
    if (!all.length) return;
    active = (active + step + all.length) % all.length;
    all.forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
    input.setAttribute("aria-activedescendant", all[active].id);
  }

  async function fetchTitles(text) {
    if (request) request.abort();
    request = new AbortController();
    const url = `${input.dataset.suggestUrl}?q=${encodeURIComponent(text)}`;
    try {
      const response = await fetch(url, { signal: request.signal, headers: { Accept: "application/json" } });
      const titles = response.ok ? await response.json() : [];
      // a late answer for text no longer typed, or after the box was left, is dropped
      if (input.value.trim() === text && document.activeElement === input) show(titles);
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) { close(); return; }
    timer = setTimeout(() => fetchTitles(text), DELAY_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (list.hidden) return;
      event.preventDefault();
      move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(options()[active].textContent);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", close);
});
