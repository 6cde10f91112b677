// The compiled addon (build/Release/rra_blas.node); throws when it was not built (see lib/backend/native.ts).
module.exports = require("./build/Release/rra_blas.node");
