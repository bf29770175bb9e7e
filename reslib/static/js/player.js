// Tells the server how far a video or audio has been played (25, 50, 75 and 100 per cent), once each per page.
document.addEventListener("DOMContentLoaded", () => {
  const token = document.querySelector('meta[name="csrf-token"]');
  const milestones = [25, 50, 75, 100];
  document.querySelectorAll("video[data-progress-url], audio[data-progress-url]").forEach((media) => {
    const sent = new Set();
    const report = (percent) => {
      const reached = milestones.filter((m) => m <= percent && !sent.has(m));
      if (!reached.length) return;
      reached.forEach((m) => sent.add(m));
      fetch(media.dataset.progressUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.content : "" },
        body: JSON.stringify({ percent: Math.max(...reached) }),
      }).catch(() => reached.forEach((m) => sent.delete(m)));  // try again at the next update
    };
    media.addEventListener("timeupdate", () => {
      if (media.duration > 0 && Number.isFinite(media.duration)) {
        report(Math.floor((media.currentTime / media.duration) * 100));
      }
    });
    media.addEventListener("ended", () => report(100));
  });
});
