#!/usr/bin/env node
/**
 * The tslab kernel that scripts/setup.sh registers (.jupyter/share/jupyter/kernels/tslab/kernel.json):
 * the project's tslab with its Jupyter server fixed to bind its sockets before it reads them
 * (lib/notebooks/tslab-server.js says why), then tslab's own command line (`kernel --config-path FILE`).
 * tslab looks for a tslab under the notebook's folder first; under this project that is this one, already
 * fixed (one module cache); a notebook in another project with its own tslab gets that one as it is.
 */
"use strict";
const { fixZmqServer, tslabModules } = require("../lib/notebooks/tslab-server.js");

const tslab = tslabModules();
fixZmqServer(tslab.ZmqServer, tslab.zmq);
require(tslab.main).main();
