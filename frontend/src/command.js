// The command view's map (综合指挥): township and grid outlines from GeoJSON, no tile server.
import L from "leaflet";

window.HuyingCommandMap = { L };
