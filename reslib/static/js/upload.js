// Upload page: each chosen or dropped file is sent as its own request, with a progress bar.
// The body is the raw file, so the server streams it to disk; the name travels percent-encoded.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  const input = document.getElementById("upload-input");
  const list = document.getElementById("upload-list");
  const rowTemplate = document.getElementById("upload-row");
  const text = document.getElementById("upload-messages").dataset;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const queue = [];
  let busy = false;

  function addFiles(files) {
    for (const file of files) {
      const row = rowTemplate.content.firstElementChild.cloneNode(true);
      row.querySelector(".upload-name").textContent = file.name;
      row.querySelector(".upload-state").textContent = text.waiting;
      list.appendChild(row);
      queue.push({ file, row });
    }
    next();
  }

  function next() {
    if (busy || queue.length === 0) return;
    busy = true;
    const { file, row } = queue.shift();
    const bar = row.querySelector("progress");
    const state = row.querySelector(".upload-state");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.endpoint);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        bar.value = Math.round((event.loaded / event.total) * 100);
        state.textContent = bar.value + "%";
      }
    });
    xhr.addEventListener("load", () => {
      let answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = {}; }
      if (xhr.status === 201) {
        bar.value = 100;
        state.textContent = text.done;
        const link = document.createElement("a");
        link.href = answer.edit_url;
        link.textContent = text.edit;
        state.appendChild(link);
        row.classList.add("done");
      } else {
        state.textContent = text.failed + ((answer.error && answer.error.message) || xhr.status);
        row.classList.add("failed");
      }
      busy = false;
      next();
    });
    xhr.addEventListener("error", () => {
      state.textContent = text.network;
      row.classList.add("failed");
      busy = false;
      next();
    });
    xhr.send(file);
  }

  input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
  form.addEventListener("submit", (event) => event.preventDefault());
  ["dragenter", "dragover"].forEach((name) => form.addEventListener(name, (event) => {
    event.preventDefault();
    form.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((name) => form.addEventListener(name, () => form.classList.remove("dragging")));
  form.addEventListener("drop", (event) => { event.preventDefault(); addFiles(event.dataTransfer.files); });
});
