/** The instance detail page. */
import './ui.js';
