variable "name" {
  type        = string
  description = "Name of the host's role, instance profile, security group and instance."
}

variable "description" {
  type        = string
  description = "Description of the role and the security group."
}

variable "ami" {
  type = string
}

variable "instance_type" {
  type    = string
  default = "t3.micro"
}

variable "key_name" {
  type     = string
  default  = null
  nullable = true
}

variable "ssh_cidr" {
  type        = string
  description = "The only range SSH is open to."

  validation {
    condition     = length(regexall("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+/[0-9]+$", var.ssh_cidr)) == 1
    error_message = "ssh_cidr must be an IPv4 CIDR block, like 203.0.113.0/24."
  }
}

variable "runtime_policy" {
  type        = string
  description = "JSON policy of what the app may do at run time (its SSM path, its tables)."
}

variable "managed_policy_arns" {
  type        = set(string)
  description = "AWS-managed policies attached to the host's role."
  default     = []
}

variable "user_data" {
  type        = string
  description = "Bootstrap script of the host."
}
