/** The instances page. */
import './ui.js';
