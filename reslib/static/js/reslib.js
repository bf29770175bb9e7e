// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".menu-toggle");
  const nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }
  // The 管理 menu closes with Escape (focus back on its label) and when the pointer or focus goes elsewhere.
  const groups = document.querySelectorAll(".menu-group details");
  const closeOthers = (target) => groups.forEach((group) => {
    if (group.open && !group.contains(target)) group.open = false;
  });
  document.addEventListener("click", (event) => closeOthers(event.target));
  document.addEventListener("focusin", (event) => closeOthers(event.target));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    groups.forEach((group) => {
      if (group.open) {
        group.open = false;
        group.querySelector("summary").focus();
      }
    });
  });
});

// A second click while a form is on its way would send it again (a rating, a registration, a review
// decision twice over a slow school network). So its buttons wait until the next page arrives, or
// ten seconds (a reply that leaves the page where it is). They are disabled only after the browser has
// gathered the form's fields, so the clicked button's own name and value still go with it.
const SENDING_MS = 10_000;

function setSending(buttons, sending) {
  for (const button of buttons) {
    button.disabled = sending;
    button.toggleAttribute("data-sending", sending);
  }
}

document.addEventListener("submit", (event) => {
  if (event.defaultPrevented) return;  // a script sends this form itself (uploads, the player)
  const buttons = [...event.target.querySelectorAll("button:not(:disabled), input[type=submit]:not(:disabled)")];
  setTimeout(() => setSending(buttons, true));
  setTimeout(() => setSending(buttons, false), SENDING_MS);
});

// Back to this page from history, it shows as it was left: the buttons that were waiting work again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) setSending(document.querySelectorAll("[data-sending]"), false);
});
