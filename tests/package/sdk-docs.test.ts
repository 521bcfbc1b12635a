// Every property of every type the SDK exports (its Args, outputs, ProxyClass and its Kubernetes
// shapes, the budget and certificate shapes it re-exports from the provider) has a doc comment: that is
// what a user's editor shows for each argument and output.
import assert from "node:assert/strict";
import * as path from "node:path";
import * as ts from "typescript";

const INDEX = path.resolve(__dirname, "../../sdk/index.ts");

describe("the SDK's exported types are documented", function () {
  this.timeout(60_000);

  it("every property of every exported class, interface and type has a doc comment", () => {
    const program = ts.createProgram([INDEX], { strict: true, skipLibCheck: true, esModuleInterop: true });
    const checker = program.getTypeChecker();
    const module = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
    const undocumented: string[] = [];
    let properties = 0;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = symbol.declarations?.[0];
      if (
        !declaration ||
        !(
          ts.isClassDeclaration(declaration) ||
          ts.isInterfaceDeclaration(declaration) ||
          ts.isTypeAliasDeclaration(declaration)
        )
      )
        continue;
      for (const property of checker.getDeclaredTypeOfSymbol(symbol).getProperties()) {
        const file = property.declarations?.[0]?.getSourceFile().fileName ?? "";
        if (file.includes("node_modules")) continue; // what pulumi.Resource itself declares
        properties++;
        if (ts.displayPartsToString(property.getDocumentationComment(checker)).trim() === "") {
          undocumented.push(`${exported.name}.${property.name}`);
        }
      }
    }
    assert.ok(properties > 100, `found only ${properties} properties: the check is not reading the SDK`);
    assert.deepEqual(undocumented, []);
  });
});
