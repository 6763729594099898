// Stroke icons on a 24×24 grid, drawn for this dashboard. Static path data only.
import { svgIcon } from "./dom.js";

const PATHS = {
  movie: ["M4 4h16v16H4z", "M8 4v16", "M16 4v16", "M4 9h4M4 15h4M16 9h4M16 15h4"],
  episode: ["M3 6h18v12H3z", "M8 21h8", "M9 2l3 4 3-4"],
  video: ["M3 6h12v12H3z", "M15 10l6-3v10l-6-3"],
  track: ["M9 18V5l11-2v13", "M9 18a3 3 0 1 1-6 0a3 3 0 1 1 6 0", "M20 16a3 3 0 1 1-6 0a3 3 0 1 1 6 0"],
  audiobook: ["M4 15v-3a8 8 0 0 1 16 0v3", "M4 15h3v6H4z", "M17 15h3v6h-3z"],
  photo: ["M3 5h18v14H3z", "M3 16l5-5 4 4 3-3 6 6", "M17 8.5a1.5 1.5 0 1 1-3 0a1.5 1.5 0 1 1 3 0"],
  ebook: ["M4 4h6a2 2 0 0 1 2 2v14a2 2 0 0 0-2-2H4z", "M20 4h-6a2 2 0 0 0-2 2v14a2 2 0 0 1 2-2h6z"],
  comic: ["M4 4h16v11H10l-5 4v-4H4z", "M8 8h8M8 11h5"],
  unknown: ["M6 3h9l4 4v14H6z", "M15 3v4h4"],
  library: ["M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z"],
  devices: ["M2 5h14v10H2z", "M6 19h6", "M9 15v4", "M18 8h4v12h-4z"],
  entities: ["M4 6h16", "M4 12h16", "M4 18h16", "M14 4v4", "M8 10v4", "M16 16v4"],
  plugins: ["M9 2v6M15 2v6", "M6 8h12v4a6 6 0 0 1-12 0z", "M12 18v4"],
  events: ["M3 12h4l3-8 4 16 3-8h4"],
  scan: ["M20 11a8 8 0 1 0-2.3 5.7", "M20 4v7h-7"],
  search: ["M11 18a7 7 0 1 1 0-14a7 7 0 1 1 0 14", "M21 21l-5-5"],
  grid: ["M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z"],
  list: ["M8 6h12M8 12h12M8 18h12", "M4 6h.01M4 12h.01M4 18h.01"],
  warning: ["M12 3l10 18H2z", "M12 10v5", "M12 18v.01"],
  back: ["M15 5l-7 7 7 7"],
  close: ["M6 6l12 12M18 6L6 18"],
  logo: ["M12 2l9 5v10l-9 5-9-5V7z", "M10 9l5 3-5 3z"],
  // acquisition
  wanted: ["M6 3h12v18l-6-4-6 4z"],
  queue: ["M12 3v11", "M7 9l5 5 5-5", "M4 19h16"],
  history: ["M12 21a9 9 0 1 1 0-18a9 9 0 1 1 0 18", "M12 7v5l3 2"],
  indexers: ["M4 4h16v6H4z", "M4 14h16v6H4z", "M8 7h.01M8 17h.01"],
  bolt: ["M13 2L4 14h7l-1 8 9-12h-7z"],
  trash: ["M4 7h16", "M10 11v6M14 11v6", "M6 7l1 13h10l1-13", "M9 7V4h6v3"],
  plus: ["M12 5v14M5 12h14"],
  check: ["M5 12l5 5 9-10"],
  block: ["M12 21a9 9 0 1 1 0-18a9 9 0 1 1 0 18", "M5.6 5.6l12.8 12.8"],
};

/** The icon named `name` (falls back to a generic file). */
export function icon(name, className = "icon") {
  return svgIcon(PATHS[name] || PATHS.unknown, className);
}

/** Human label for a media item type. */
export const TYPE_LABELS = {
  movie: "Movie",
  episode: "Episode",
  video: "Video",
  track: "Track",
  audiobook: "Audiobook",
  photo: "Photo",
  ebook: "E-book",
  comic: "Comic",
};
