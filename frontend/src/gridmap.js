// The grid worker's and the platform's map: the township's grids, a point picked or shown.
import L from "leaflet";

window.HuyingGridMap = { L };
