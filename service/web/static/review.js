// Review pages: keyboard shortcuts, reveal on click, auto-focus. No inline scripts (CSP).
(function () {
  "use strict";
  const root = document.querySelector(".review");
  if (!root) return;
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");

  function toggleReveal(fig) { fig.classList.toggle("revealed"); }
  document.querySelectorAll(".shield").forEach((fig) => {
    fig.addEventListener("click", (ev) => { if (ev.target.tagName !== "VIDEO" || !fig.classList.contains("revealed")) { ev.preventDefault(); toggleReveal(fig); } });
    fig.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggleReveal(fig); } });
  });
  const mode = document.getElementById("media_mode");
  const stage = document.getElementById("stage");
  if (mode && stage) mode.addEventListener("change", () => { stage.className = "stage mode-" + mode.value; });

  // --- the item page: decide with one key ---
  const form = document.getElementById("decide");
  const rationale = document.getElementById("rationale");
  const hint = document.getElementById("hint");
  let pending = null;
  function choose(btn) {
    document.querySelectorAll(".buttons button").forEach((b) => b.classList.remove("pending"));
    if (!rationale.value.trim()) {
      pending = btn; btn.classList.add("pending");
      hint.textContent = "Write the rationale, then Enter to " + btn.textContent.replace(/\s+\S$/, "").toLowerCase() + ".";
      rationale.focus();
      return;
    }
    form.requestSubmit(btn);
  }
  if (form) {
    rationale.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        if (pending && rationale.value.trim()) form.requestSubmit(pending);
        else hint.textContent = "Choose a decision: a approve, r reject, e escalate, n needs context (Esc leaves the field).";
      } else if (ev.key === "Escape") { rationale.blur(); }
    });
    // Guard against a double submit, after the browser has read the pressed button's value.
    form.addEventListener("submit", () => setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0));
  }

  // Ready-made rationales: a click puts the text in the field, to send as is or edit.
  document.querySelectorAll(".canned-pick").forEach((b) => b.addEventListener("click", () => {
    if (!rationale) return;
    rationale.value = b.dataset.text; rationale.focus();
    if (hint) hint.textContent = "Choose a decision: a approve, r reject, e escalate, n needs context.";
  }));
  // Filters apply as soon as one changes.
  const filters = document.getElementById("filters");
  if (filters) filters.querySelectorAll("select, input[type=checkbox]").forEach((el) => el.addEventListener("change", () => filters.requestSubmit()));

  // --- the queue page: j/k to move, o to open ---
  const rows = Array.from(document.querySelectorAll("#queue tbody tr"));
  let at = -1;
  function select(i) {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r) => r.classList.remove("selected"));
    rows[at].classList.add("selected");
    rows[at].scrollIntoView({ block: "nearest" });
  }
  rows.forEach((r) => r.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") window.location = r.dataset.href; }));

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) return;
    const key = ev.key;
    if (form) {
      const btn = form.querySelector('button[data-key="' + key + '"]');
      if (btn) { ev.preventDefault(); choose(btn); return; }
    }
    const claimBtn = document.getElementById("claim");
    if (key === "c" && claimBtn) { ev.preventDefault(); claimBtn.click(); return; }
    if (key === "f" && filters) { ev.preventDefault(); filters.querySelector("select").focus(); return; }
    if (key === "v") { document.querySelectorAll(".shield").forEach(toggleReveal); }
    else if (key === "/" && rationale) { ev.preventDefault(); rationale.focus(); }
    else if (key === "q") { window.location = "/review"; }
    else if (key === "j") { select(at + 1); }
    else if (key === "k") { select(at - 1); }
    else if (key === "o" && at >= 0) { window.location = rows[at].dataset.href; }
    else if (key === "Enter" && root.dataset.page === "queue") {
      if (at >= 0) window.location = rows[at].dataset.href; else document.getElementById("start").click();
    }
  });
})();
