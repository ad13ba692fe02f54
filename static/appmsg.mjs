// The browser SDK as an ES module: import { Client, AppApi, connectUser } from './appmsg.mjs'.
// The code is appmsg.js (see its top comment for the API); this module loads it once and
// exports what it defines.
import './appmsg.js';

const { Client, AppApi, AppMsgError, connectUser } = globalThis.AppMsg;
export { Client, AppApi, AppMsgError, connectUser };
export default globalThis.AppMsg;
