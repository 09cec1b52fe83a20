console.log("VaultSphere");
